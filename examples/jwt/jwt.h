/*
 * jwt.h: verification of HS256 JSON Web Tokens (RFC 7519, JWS compact form), nothing else.
 *
 * A pure function: no I/O, no clock (the time is an argument), no global state. The HMAC is OpenSSL's and
 * the comparison CRYPTO_memcmp's. The checks, in order (the first failure is reported, with the jsonwebtoken
 * package's message, see jwt_strerror):
 *   1. length at most JWT_MAX_LEN bytes                                       JWT_ETOOLONG   "jwt too long"
 *   2. exactly three parts separated by '.'                                   JWT_EMALFORMED "jwt malformed"
 *   3. the header is strict base64url (no padding, no other character, no length 4n+1, unused bits zero) of
 *      a JSON object without "crit"                                           JWT_EMALFORMED
 *   4. its "alg" is exactly "HS256" ("none", "HS512", "RS256"... are refused whatever the signature)
 *                                                                             JWT_EALG       "invalid algorithm"
 *   5. the signature decodes to the HMAC-SHA256 of "header.payload" (the text as sent) with the secret
 *                                                                             JWT_ESIGNATURE "invalid signature"
 *   6. the payload is strict base64url of a JSON object                        JWT_EMALFORMED
 *   7. "exp", if present, is a number and now < exp                           JWT_EEXPIRED   "jwt expired"
 *   8. "nbf", if present, is a number and now >= nbf                          JWT_ENOTBEFORE "jwt not active"
 * So the payload is looked at only once the signature is right: a forged payload is "invalid signature",
 * whatever it holds. No leeway: the times are compared as they are (exp exclusive, nbf inclusive, as RFC 7519
 * says). A malformed exp or nbf gets the error of its claim, so that a client learns which one is wrong.
 */
#ifndef EXAMPLES_JWT_H
#define EXAMPLES_JWT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define JWT_MAX_LEN 8192

enum {
    JWT_OK = 0,
    JWT_ENOMEM = -1,
    JWT_ETOOLONG = -2,
    JWT_EMALFORMED = -3,
    JWT_EALG = -4,
    JWT_ESIGNATURE = -5,
    JWT_EEXPIRED = -6,
    JWT_ENOTBEFORE = -7
};

/*
 * Verifies token[0..len) with secret[0..secret_len) at `now` (seconds since the epoch). On success returns
 * JWT_OK and sets *claims to the payload object (ownership passes to the caller: cJSON_Delete it); on failure
 * returns a negative JWT_E* code and leaves *claims NULL. token and secret are borrowed for the call.
 */
int jwt_verify(const char *token, size_t len, const void *secret, size_t secret_len, double now, cJSON **claims);

/* The message for a JWT_* code ("jwt expired"), never NULL. */
const char *jwt_strerror(int code);

#endif
