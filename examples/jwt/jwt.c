/*
 * jwt.c: HS256 JSON Web Token verification (see jwt.h). Strict on purpose: anything that is not exactly a
 * well-formed HS256 token signed with the secret is refused, before any claim is looked at.
 */
#include "examples/jwt/jwt.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

/* The value of one base64url character (RFC 4648 section 5), or -1. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/*
 * Decodes unpadded base64url in[0..n) into out (at least n * 3 / 4 bytes) and returns the decoded length, or -1
 * for a character outside the alphabet (padding '=' included), a length that no encoding has (n % 4 == 1), or
 * non-zero unused bits in the last character: each byte string has one encoding, so one token has one form.
 */
static long b64url_decode(const char *in, size_t n, unsigned char *out)
{
    if (n % 4 == 1)
        return -1;
    unsigned acc = 0; /* the bits not yet output: fewer than 8 of them between characters */
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return acc != 0 ? -1 : (long)o;
}

/* Decodes one part and parses it as a JSON object. Returns JWT_OK with *out set, or JWT_EMALFORMED. */
static int parse_part(const char *part, size_t n, cJSON **out)
{
    unsigned char buf[JWT_MAX_LEN + 1]; /* n <= JWT_MAX_LEN (checked by the caller), and decoding shrinks */
    *out = NULL;
    long len = b64url_decode(part, n, buf);
    /* A NUL inside would end cJSON's text early and hide what follows it. */
    if (len < 0 || memchr(buf, '\0', (size_t)len))
        return JWT_EMALFORMED;
    buf[len] = '\0';
    cJSON *json = cJSON_ParseWithOpts((const char *)buf, NULL, 1); /* 1: nothing may follow the value */
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return JWT_EMALFORMED;
    }
    *out = json;
    return JWT_OK;
}

static int check_header(const cJSON *header)
{
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
        return JWT_EALG;
    /* "crit" lists extensions the verifier must understand (RFC 7515 section 4.1.11): we understand none. */
    if (cJSON_GetObjectItemCaseSensitive(header, "crit"))
        return JWT_EMALFORMED;
    return JWT_OK;
}

/* signed_part is "header.payload", sig the third part still encoded. */
static int check_signature(const char *signed_part, size_t n, const char *sig, size_t sig_len, const void *secret,
                           size_t secret_len)
{
    unsigned char given[JWT_MAX_LEN];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    long given_len = b64url_decode(sig, sig_len, given);
    if (given_len != 32 || secret_len > INT_MAX)
        return JWT_ESIGNATURE;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)signed_part, n, mac, &mac_len))
        return JWT_ENOMEM;
    /* Constant time, so that the comparison's duration tells nothing about how much of a forgery was right. */
    if (mac_len != 32 || CRYPTO_memcmp(mac, given, 32) != 0)
        return JWT_ESIGNATURE;
    return JWT_OK;
}

static int check_times(const cJSON *claims, double now)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    if (exp && (!cJSON_IsNumber(exp) || now >= exp->valuedouble))
        return JWT_EEXPIRED;
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
    if (nbf && (!cJSON_IsNumber(nbf) || now < nbf->valuedouble))
        return JWT_ENOTBEFORE;
    return JWT_OK;
}

int jwt_verify(const char *token, size_t len, const void *secret, size_t secret_len, double now, cJSON **claims)
{
    *claims = NULL;
    if (len > JWT_MAX_LEN)
        return JWT_ETOOLONG;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    const char *sig = dot2 ? dot2 + 1 : NULL;
    size_t sig_len = dot2 ? len - (size_t)(sig - token) : 0;
    if (!dot2 || memchr(sig, '.', sig_len)) /* not exactly three parts */
        return JWT_EMALFORMED;

    cJSON *header;
    int rc = parse_part(token, (size_t)(dot1 - token), &header);
    if (rc == JWT_OK)
        rc = check_header(header);
    cJSON_Delete(header);
    if (rc == JWT_OK)
        rc = check_signature(token, (size_t)(dot2 - token), sig, sig_len, secret, secret_len);
    cJSON *payload = NULL;
    if (rc == JWT_OK)
        rc = parse_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload);
    if (rc == JWT_OK)
        rc = check_times(payload, now);
    if (rc != JWT_OK) {
        cJSON_Delete(payload);
        return rc;
    }
    *claims = payload;
    return JWT_OK;
}

const char *jwt_strerror(int code)
{
    switch (code) {
    case JWT_OK:
        return "ok";
    case JWT_ENOMEM:
        return "out of memory";
    case JWT_ETOOLONG:
        return "jwt too long";
    case JWT_EMALFORMED:
        return "jwt malformed";
    case JWT_EALG:
        return "invalid algorithm";
    case JWT_ESIGNATURE:
        return "invalid signature";
    case JWT_EEXPIRED:
        return "jwt expired";
    case JWT_ENOTBEFORE:
        return "jwt not active";
    default:
        return "unknown error";
    }
}
