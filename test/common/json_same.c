/* Exact equality of cJSON trees (json_same.h). */
#include "test/common/json_same.h"

#include <string.h>

int th_json_same(const cJSON *a, const cJSON *b, int nonfinite_is_null)
{
    if (!a || !b)
        return a == b;
    if (nonfinite_is_null && cJSON_IsNumber(a) && !(a->valuedouble - a->valuedouble == 0))
        return cJSON_IsNull(b);
    if ((a->type & 0xff) != (b->type & 0xff))
        return 0;
    if (cJSON_IsNumber(a))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (!cJSON_IsObject(a) && !cJSON_IsArray(a))
        return 1;
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next) {
        if (cJSON_IsObject(a) && strcmp(x->string, y->string) != 0)
            return 0;
        if (!th_json_same(x, y, nonfinite_is_null))
            return 0;
    }
    return !x && !y;
}
