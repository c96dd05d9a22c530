/*
 * Socket.IO v5 packet encoder and decoder. Pure: no I/O, no timers, no libevent; JSON through cJSON.
 *
 * A packet's text form is: the type digit; for binary types the attachment count and '-'; the namespace and
 * ',' unless it is "/"; the ack id digits; the JSON data. Examples: 42["chat","hi"], 42/admin,13["ping"],
 * 431[true], 451-["file",{"_placeholder":true,"num":0}] followed by one binary message.
 *
 * Binary attachments stay in the JSON as placeholder objects {"_placeholder":true,"num":N}; the packet carries
 * the attachments in order, and sio_placeholder_index() tells which attachment a placeholder stands for. The
 * decoder has checked every placeholder of a binary packet (an integer num in [0, attachments)), so
 * resolving one never fails for a decoded binary packet. Placeholders in a non-binary packet are plain JSON.
 *
 * Out of memory is reported as SIO_PARSER_ENOMEM; nothing aborts.
 */
#ifndef SIO_PARSER_H
#define SIO_PARSER_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

enum sio_packet_type {
    SIO_PACKET_CONNECT = 0,
    SIO_PACKET_DISCONNECT = 1,
    SIO_PACKET_EVENT = 2,
    SIO_PACKET_ACK = 3,
    SIO_PACKET_CONNECT_ERROR = 4,
    SIO_PACKET_BINARY_EVENT = 5,
    SIO_PACKET_BINARY_ACK = 6
};

#define SIO_PARSER_EPARSE (-1)  /* invalid packet: the connection closes */
#define SIO_PARSER_ENOMEM (-2)

#define SIO_MAX_ATTACHMENTS 10        /* the reference's default maxAttachments */
#define SIO_MAX_ACK_ID 9007199254740991LL /* 2^53 - 1: larger ids lose precision in JavaScript */
#define SIO_MAX_NSP_LEN 256           /* namespace bytes, '/' included */

typedef struct sio_attachment {
    uint8_t *data; /* owned by the packet (NULL when len is 0) */
    size_t len;
} sio_attachment;

typedef struct sio_packet {
    int type;                   /* enum sio_packet_type */
    char *nsp;                  /* owned, NUL-terminated; "/" for the main namespace */
    int64_t id;                 /* ack id, or -1 when there is none */
    cJSON *data;                /* owned; NULL when the packet has no data */
    size_t nattachments;        /* binary types: 1..SIO_MAX_ATTACHMENTS; else 0 */
    size_t nreceived;           /* attachments received so far (== nattachments once complete) */
    sio_attachment *attachments; /* owned array of nattachments */
} sio_packet;

/* Frees a packet and everything it owns. Accepts NULL. */
void sio_packet_free(sio_packet *p);

/*
 * Decodes one text message into a new packet (*out, owned by the caller). Validation as the reference, and
 * stricter where no real client differs: a known type; for binary types an attachment count of 1..10;
 * a namespace of at most SIO_MAX_NSP_LEN bytes; an ack id of at most SIO_MAX_ACK_ID; JSON (cJSON, nesting
 * at most 1000) with nothing after it; CONNECT data an object (or none); DISCONNECT no data; CONNECT_ERROR
 * an object or a string; EVENT data a non-empty array whose first element is a number or a string that is not
 * a reserved name (connect, connect_error, disconnect, disconnecting, newListener, removeListener), or no data at
 * all (accepted as the reference does; the server ignores such an event); ACK data an array (or none); every placeholder of a binary packet an integer num in range.
 * Returns 0 or SIO_PARSER_EPARSE / SIO_PARSER_ENOMEM (then *out is NULL).
 */
int sio_packet_decode(const char *s, size_t len, sio_packet **out);

/* The incremental decoder: text messages, and the binary messages that complete a binary packet. */
typedef struct sio_decoder {
    sio_packet *pending; /* a binary packet waiting for attachments (owned), or NULL */
} sio_decoder;

void sio_decoder_init(sio_decoder *d);
/* Frees a pending packet. */
void sio_decoder_cleanup(sio_decoder *d);
/*
 * Feeds one text message. Returns 1 with a complete packet in *out (transferred), 0 when the packet waits
 * for its attachments, or a negative error: SIO_PARSER_EPARSE also when a packet is still waiting for
 * attachments ("got plaintext data when reconstructing a packet").
 */
int sio_decoder_add_text(sio_decoder *d, const char *s, size_t len, sio_packet **out);
/*
 * Feeds one binary message (copied). Returns 1 with the completed packet in *out, 0 when more attachments
 * are due, or SIO_PARSER_EPARSE when no packet waits for one ("got binary data when not reconstructing").
 */
int sio_decoder_add_binary(sio_decoder *d, const uint8_t *data, size_t len, sio_packet **out);

/*
 * Encodes the text part of p into a new NUL-terminated string (*out, free() it). For binary types,
 * p->nattachments must be set; the attachments are sent by the caller after the string, in order.
 * Returns the string's length or SIO_PARSER_ENOMEM.
 */
long sio_packet_encode(const sio_packet *p, char **out);

/* A new placeholder object {"_placeholder":true,"num":index} (owned by the caller), or NULL. */
cJSON *sio_placeholder_new(size_t index);
/* The attachment index of a placeholder object, or -1 when `item` is not one. */
long sio_placeholder_index(const cJSON *item);

/* 1 for the event names an application may not emit or receive. */
int sio_event_name_reserved(const char *name);

#endif
