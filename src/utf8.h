#ifndef BZ_UTF8_H
#define BZ_UTF8_H
#include <stddef.h>

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF);
 * *cps receives the number of code points (the unit all length limits use). */
int bz_utf8_check(const unsigned char *s, size_t n, size_t *cps);

#endif
