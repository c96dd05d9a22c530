/*
 * libFuzzer harness for the Socket.IO v5 packet decoder and encoder (socketio/sio_parser.h).
 *
 * The input is a sequence of messages separated by 0xff bytes (which UTF-8 text never contains). A message
 * that starts with 0xfe is binary, its other bytes being one attachment; any other message is text. The
 * messages go in order to one sio_decoder, each from a heap copy of exactly its length so that ASan catches
 * a read past the end. A model of the decoder's state (how many attachments are due, and the bytes already
 * fed) says what each call must return, and every text message is also decoded alone with
 * sio_packet_decode, which must agree with the decoder. Every packet either returns is checked against the
 * header's contract (fields in range, the data rules of its type, attachments equal to the binary messages
 * fed, every placeholder resolving) and round-tripped: encode, decode the encoding, encode again, which must
 * give the same packet and the same bytes. Short text messages are also decoded at every strict prefix.
 */
#include "socketio/sio_parser.h"
#include "test/common/json_same.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                           \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                     \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

#define MSG_SEPARATOR 0xff
#define MSG_BINARY 0xfe
#define PREFIX_MAX 128 /* text messages up to this long are also decoded at every strict prefix */

/* Stands in for "not written yet": the decoder must write *out on every call. */
static sio_packet sentinel;

static uint8_t *dup_exact(const void *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (!q)
        abort();
    if (n)
        memcpy(q, p, n);
    return q;
}

static const char *const reserved_names[] = {"connect",       "connect_error", "disconnect",
                                             "disconnecting", "newListener",   "removeListener"};

static int name_reserved(const char *s)
{
    for (size_t i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++)
        if (strcmp(s, reserved_names[i]) == 0)
            return 1;
    return 0;
}

/* The data rules of the header, written again from the contract. */
static int payload_ok(int type, const cJSON *d)
{
    switch (type) {
    case SIO_PACKET_CONNECT:
        return !d || cJSON_IsObject(d);
    case SIO_PACKET_DISCONNECT:
        return !d;
    case SIO_PACKET_CONNECT_ERROR:
        return cJSON_IsObject(d) || cJSON_IsString(d);
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
        return (!d && type == SIO_PACKET_EVENT) || (cJSON_IsArray(d) && d->child &&
                      ((cJSON_IsNumber(d->child) && isfinite(d->child->valuedouble)) ||
                       (cJSON_IsString(d->child) && !name_reserved(d->child->valuestring))));
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
        return !d || cJSON_IsArray(d);
    default:
        return 0;
    }
}

/* Nesting depth of j (a scalar is 0). The decoder's limit of 1000 bounds the recursion. */
static size_t json_depth(const cJSON *j)
{
    size_t max = 0;
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        size_t d = json_depth(c);
        if (d > max)
            max = d;
    }
    return max + 1;
}

/* Every object with "_placeholder": true must resolve to an attachment. */
static void check_placeholders(const cJSON *j, size_t n)
{
    if (cJSON_IsObject(j) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "_placeholder"))) {
        long idx = sio_placeholder_index(j);
        CHECK(idx >= 0 && (size_t)idx < n);
    }
    if (cJSON_IsObject(j) || cJSON_IsArray(j))
        for (const cJSON *c = j->child; c; c = c->next)
            check_placeholders(c, n);
}


/*
 * The contract for a packet returned by the decoder. `complete` is 1 for a packet whose attachments have all
 * arrived (from the incremental decoder), 0 for one from sio_packet_decode (none received yet).
 */
static void check_packet(const sio_packet *p, int complete)
{
    CHECK(p->type >= SIO_PACKET_CONNECT && p->type <= SIO_PACKET_BINARY_ACK);
    CHECK(p->nsp && p->nsp[0] == '/');
    size_t nsp_len = strlen(p->nsp);
    CHECK(nsp_len <= SIO_MAX_NSP_LEN);
    CHECK(!memchr(p->nsp, ',', nsp_len));
    CHECK(p->id == -1 || (p->id >= 0 && p->id <= SIO_MAX_ACK_ID));
    CHECK(payload_ok(p->type, p->data));
    CHECK(json_depth(p->data) <= 1000);
    int binary = p->type == SIO_PACKET_BINARY_EVENT || p->type == SIO_PACKET_BINARY_ACK;
    if (binary) {
        CHECK(p->nattachments >= 1 && p->nattachments <= SIO_MAX_ATTACHMENTS);
        CHECK(p->attachments != NULL);
        CHECK(p->nreceived == (complete ? p->nattachments : 0));
        check_placeholders(p->data, p->nattachments);
    } else {
        CHECK(p->nattachments == 0 && p->nreceived == 0);
    }
}

/* Encode, decode the encoding, encode again: the same packet and the same bytes. */
static void check_roundtrip(const sio_packet *p)
{
    char *e1 = NULL, *e2 = NULL;
    long n1 = sio_packet_encode(p, &e1);
    CHECK(n1 > 0 && e1 && (size_t)n1 == strlen(e1));
    uint8_t *copy = dup_exact(e1, (size_t)n1);
    sio_packet *q = NULL;
    int rc = sio_packet_decode((const char *)copy, (size_t)n1, &q);
    free(copy);
    if (rc != 0)
        fprintf(stderr, "the encoding %s of a decoded packet does not decode (%d)\n", e1, rc);
    CHECK(rc == 0);
    check_packet(q, 0);
    CHECK(q->type == p->type);
    CHECK(strcmp(q->nsp, p->nsp) == 0);
    CHECK(q->id == p->id);
    CHECK(q->nattachments == p->nattachments);
    CHECK((q->data == NULL) == (p->data == NULL));
    if (p->data && !th_json_same(p->data, q->data, 1)) {
        fprintf(stderr, "the data changed in a round trip through the encoding %s\n", e1);
        CHECK(0);
    }
    long n2 = sio_packet_encode(q, &e2);
    if (n2 != n1 || memcmp(e1, e2, (size_t)n1) != 0)
        fprintf(stderr, "re-encoding differs:\n  %s\n  %s\n", e1, e2);
    CHECK(n2 == n1 && memcmp(e1, e2, (size_t)n1) == 0);
    free(e2);
    free(e1);
    sio_packet_free(q);
}

/* Every strict prefix of a text message is rejected or decodes to a packet that keeps the contract. */
static void check_prefixes(const uint8_t *msg, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        uint8_t *copy = dup_exact(msg, k);
        sio_packet *p = NULL;
        int rc = sio_packet_decode((const char *)copy, k, &p);
        free(copy);
        CHECK(rc == 0 || rc == SIO_PARSER_EPARSE);
        CHECK((rc == 0) == (p != NULL));
        if (p) {
            check_packet(p, 0);
            check_roundtrip(p);
            sio_packet_free(p);
        }
    }
}

/* What the decoder must be doing: the attachments due for a pending binary packet and those fed so far. */
typedef struct model {
    size_t due;                                 /* 0: nothing pending */
    size_t got;                                 /* attachments fed so far (< due) */
    uint8_t *bytes[SIO_MAX_ATTACHMENTS];        /* copies of what was fed */
    size_t lens[SIO_MAX_ATTACHMENTS];
} model;

static void model_reset(model *m)
{
    for (size_t i = 0; i < m->got; i++)
        free(m->bytes[i]);
    memset(m, 0, sizeof(*m));
}

static void feed_text(sio_decoder *d, model *m, const uint8_t *msg, size_t len)
{
    uint8_t *copy = dup_exact(msg, len);
    sio_packet *alone = NULL;
    int rc_alone = sio_packet_decode((const char *)copy, len, &alone);
    free(copy);
    CHECK(rc_alone == 0 || rc_alone == SIO_PARSER_EPARSE);
    CHECK((rc_alone == 0) == (alone != NULL));
    if (alone) {
        CHECK(msg[0] == '0' + alone->type);
        check_packet(alone, 0);
        check_roundtrip(alone);
    }
    if (len <= PREFIX_MAX)
        check_prefixes(msg, len);

    copy = dup_exact(msg, len);
    sio_packet *p = &sentinel;
    int rc = sio_decoder_add_text(d, (const char *)copy, len, &p);
    free(copy);
    if (m->due) {
        /* "got plaintext data when reconstructing a packet" */
        CHECK(rc == SIO_PARSER_EPARSE && p == NULL);
        CHECK(d->pending != NULL);
    } else if (!alone) {
        CHECK(rc == SIO_PARSER_EPARSE && p == NULL);
        CHECK(d->pending == NULL);
    } else if (alone->nattachments) {
        CHECK(rc == 0 && p == NULL);
        CHECK(d->pending != NULL);
        m->due = alone->nattachments;
        m->got = 0;
    } else {
        CHECK(rc == 1 && p != NULL);
        CHECK(d->pending == NULL);
        check_packet(p, 1);
        /* The same packet as sio_packet_decode's. */
        char *e1, *e2;
        long n1 = sio_packet_encode(alone, &e1), n2 = sio_packet_encode(p, &e2);
        CHECK(n1 == n2 && memcmp(e1, e2, (size_t)n1) == 0);
        free(e1);
        free(e2);
        sio_packet_free(p);
    }
    sio_packet_free(alone);
}

static void feed_binary(sio_decoder *d, model *m, const uint8_t *bytes, size_t len)
{
    uint8_t *copy = dup_exact(bytes, len);
    sio_packet *p = &sentinel;
    int rc = sio_decoder_add_binary(d, copy, len, &p);
    free(copy); /* the decoder copies */
    if (!m->due) {
        /* "got binary data when not reconstructing a packet" */
        CHECK(rc == SIO_PARSER_EPARSE && p == NULL);
        CHECK(d->pending == NULL);
        return;
    }
    m->bytes[m->got] = dup_exact(bytes, len);
    m->lens[m->got] = len;
    m->got++;
    if (m->got < m->due) {
        CHECK(rc == 0 && p == NULL);
        CHECK(d->pending != NULL);
        return;
    }
    CHECK(rc == 1 && p != NULL);
    CHECK(d->pending == NULL);
    check_packet(p, 1);
    CHECK(p->nattachments == m->due);
    for (size_t i = 0; i < m->due; i++) {
        CHECK(p->attachments[i].len == m->lens[i]);
        CHECK(m->lens[i] == 0 ? p->attachments[i].data == NULL
                              : memcmp(p->attachments[i].data, m->bytes[i], m->lens[i]) == 0);
    }
    check_roundtrip(p);
    sio_packet_free(p);
    model_reset(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sio_decoder d;
    sio_decoder_init(&d);
    model m;
    memset(&m, 0, sizeof(m));
    size_t pos = 0;
    for (;;) {
        const uint8_t *sep = memchr(data + pos, MSG_SEPARATOR, size - pos);
        size_t end = sep ? (size_t)(sep - data) : size;
        const uint8_t *msg = data + pos;
        size_t len = end - pos;
        if (len > 0 && msg[0] == MSG_BINARY)
            feed_binary(&d, &m, msg + 1, len - 1);
        else
            feed_text(&d, &m, msg, len);
        if (!sep)
            break;
        pos = end + 1;
    }
    /* Frees a packet still waiting for attachments, with those received. */
    sio_decoder_cleanup(&d);
    CHECK(d.pending == NULL);
    model_reset(&m);
    return 0;
}
