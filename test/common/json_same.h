/* json_same.h: exact equality of two cJSON trees for the tests and fuzz targets (cJSON_Compare allows a relative
 * error on numbers and ignores the order of object keys; these must not). */
#ifndef TH_JSON_SAME_H
#define TH_JSON_SAME_H

#include <cjson/cJSON.h>

/* 1 when a and b have the same types, values (numbers compared exactly), keys in the same order. NULL equals
 * only NULL. With nonfinite_is_null, a non-finite number in a matches null in b (what JSON.stringify writes). */
int th_json_same(const cJSON *a, const cJSON *b, int nonfinite_is_null);

#endif
