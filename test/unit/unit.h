/*
 * Shared helpers for the cmocka unit tests.
 *
 * cmocka's own assert_int_equal prints both sides in hex, negative codes as 0xffff..., and says nothing about
 * which iteration of a loop failed. These helpers print signed or unsigned decimal, escaped bytes with the
 * first differing offset, and the current "where" (set with UT_WHERE inside loops, cleared before every test
 * by ut_setup, which UT_TEST installs).
 */
#ifndef TEST_UNIT_H
#define TEST_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the current loop iteration is checking; printed with every failure of the UT_ assertions. */
static char ut_where[256];

#define UT_WHERE(...) snprintf(ut_where, sizeof(ut_where), __VA_ARGS__)

static inline int ut_setup(void **state)
{
    (void)state;
    ut_where[0] = '\0';
    return 0;
}

#define UT_TEST(f) cmocka_unit_test_setup(f, ut_setup)

static inline void ut_print_where(void)
{
    if (ut_where[0] != '\0')
        print_error("  while checking: %s\n", ut_where);
}

static inline void ut_eq_signed(long long actual, long long expected, const char *what, const char *file, int line)
{
    if (actual == expected)
        return;
    print_error("%s is %lld, expected %lld\n", what, actual, expected);
    ut_print_where();
    _fail(file, line);
}

static inline void ut_eq_unsigned(unsigned long long actual, unsigned long long expected, const char *what,
                                  const char *file, int line)
{
    if (actual == expected)
        return;
    print_error("%s is %llu (%#llx), expected %llu (%#llx)\n", what, actual, actual, expected, expected);
    ut_print_where();
    _fail(file, line);
}

static inline void ut_true(int cond, const char *what, const char *file, int line)
{
    if (cond)
        return;
    print_error("expected %s\n", what);
    ut_print_where();
    _fail(file, line);
}

/* Prints at most 96 bytes of s[0..n) as a C string literal, escaping everything outside printable ASCII. */
static inline void ut_print_escaped(const char *label, const uint8_t *s, size_t n)
{
    char out[96 * 4 + 8];
    size_t o = 0;
    size_t show = n < 96 ? n : 96;
    for (size_t i = 0; i < show; i++) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
    }
    out[o] = '\0';
    print_error("  %s (%zu bytes): \"%s\"%s\n", label, n, out, show < n ? "..." : "");
}

static inline void ut_bytes_eq(const uint8_t *actual, size_t alen, const uint8_t *expected, size_t elen,
                               const char *what, const char *file, int line)
{
    if (alen == elen && (alen == 0 || memcmp(actual, expected, alen) == 0))
        return;
    size_t i = 0;
    while (i < alen && i < elen && actual[i] == expected[i])
        i++;
    print_error("%s differs from the expected bytes at offset %zu\n", what, i);
    ut_print_escaped("actual  ", actual, alen);
    ut_print_escaped("expected", expected, elen);
    ut_print_where();
    _fail(file, line);
}

#define UT_EQ(actual, expected) ut_eq_signed((long long)(actual), (long long)(expected), #actual, __FILE__, __LINE__)
#define UT_UEQ(actual, expected)                                                                              \
    ut_eq_unsigned((unsigned long long)(actual), (unsigned long long)(expected), #actual, __FILE__, __LINE__)
#define UT_TRUE(cond) ut_true((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define UT_PTR_EQ(actual, expected)                                                                           \
    ut_eq_signed((long long)((const uint8_t *)(actual) - (const uint8_t *)(expected)), 0,                   \
                 "offset of " #actual " from " #expected, __FILE__, __LINE__)
#define UT_BYTES_EQ(actual, alen, expected, elen)                                                             \
    ut_bytes_eq((const uint8_t *)(actual), (alen), (const uint8_t *)(expected), (elen), #actual, __FILE__,   \
                __LINE__)
/* Compares with the bytes of a string literal (without its NUL). */
#define UT_BYTES_LIT(actual, alen, lit) UT_BYTES_EQ(actual, alen, lit, sizeof(lit) - 1)

/*
 * A heap copy of exactly n bytes (one byte is allocated for n == 0 so the pointer is never NULL), so that
 * ASan and valgrind catch any read past the length a decoder was given.
 */
static inline uint8_t *ut_dup(const void *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    if (n)
        memcpy(p, src, n);
    return p;
}

/* A heap buffer of exactly n bytes (at least one), filled with 0xa5 so nothing reads as zero by chance. */
static inline uint8_t *ut_alloc(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    memset(p, 0xa5, n ? n : 1);
    return p;
}

/* Deterministic xorshift64*, so failures reproduce. */
static inline uint64_t ut_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static inline void ut_fill_random(uint64_t *state, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(ut_rand(state) >> 56);
}

#endif
