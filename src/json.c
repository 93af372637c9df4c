#include <stdint.h>
#include <string.h>
#include "json.h"

/* 0: copy as is; 1: needs an escape; 2: first byte of a multi-byte sequence */
static const unsigned char kind[256] = {
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2 };

static void escape(lua_State *L, bz_buf *out, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
  switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default:
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      bz_buf_add(L, out, esc, 6);
      return;
  }
  bz_buf_add(L, out, esc, 2);
}

/* Length of the well-formed UTF-8 sequence at s (lead byte >= 0x80), 0 if malformed. */
static size_t seq_len(const unsigned char *s, size_t left) {
  unsigned c = s[0], c1;
  size_t need;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c >= 0xE0 && c <= 0xEF) need = 2;
  else if (c >= 0xF0 && c <= 0xF4) need = 3;
  else return 0;
  if (left <= need) return 0;
  c1 = s[1];
  if ((c1 & 0xC0) != 0x80) return 0;
  /* overlongs, surrogates and > U+10FFFF are excluded by the second byte's range */
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
    return 0;
  if (need >= 2 && (s[2] & 0xC0) != 0x80) return 0;
  if (need == 3 && (s[3] & 0xC0) != 0x80) return 0;
  return need + 1;
}

/* Unaligned little-endian-agnostic loads (memcpy compiles to one move). */
static inline uint64_t load8(const unsigned char *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* SWAR over 8 bytes: the high bit of each byte that is not plain JSON text, i.e.
 * non-ASCII, < 0x20, '"' or '\\'. Exact per byte (no borrow crosses a byte whose
 * high bit is clear), so the lowest set bit locates the first such byte. */
static inline uint64_t special8(uint64_t x) {
  uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
  uint64_t t = ((x & ~HIGH) + ONES * (0x80 - 0x20)) & ((q & ~HIGH) + ~HIGH) & ((b & ~HIGH) + ~HIGH);
  return (~t | x) & HIGH;
}

/* Index of the first special byte of a word whose special8() is not 0. */
static inline unsigned first_special(uint64_t m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return (unsigned)__builtin_clzll(m) >> 3;
#else
  return (unsigned)__builtin_ctzll(m) >> 3;
#endif
}

/* special8 of the last k (1..7) bytes of a string of 8 or more ending at e: the word
 * ending there, its bytes before those k (already checked) shifted out. */
static inline uint64_t tail_special(const unsigned char *e, unsigned k) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return special8(load8(e - 8)) << (8 * (8 - k));
#else
  return special8(load8(e - 8)) >> (8 * (8 - k));
#endif
}

/* A 3-byte sequence with lead E1..EF and two continuation bytes, or E0 / ED with the
 * second byte in the range that excludes overlongs / surrogates (bit 5 of it tells):
 * the whole BMP above U+07FF, Hangul included. Reads 4 bytes (the caller checks they
 * exist), tests the 3 of the sequence. */
static inline int plain3(const unsigned char *p) {
  uint32_t w;
  memcpy(&w, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = ((w >> 24) & 0xFF) | ((w >> 8) & 0xFF00) | ((w << 8) & 0xFF0000);
#endif
  if ((w & 0xC0C0F0u) != 0x8080E0u) return 0;
  if (!((0x2001u >> (w & 15)) & 1)) return 1;                      /* E1..EC, EE, EF */
  return (w & 0xFF) == 0xE0 ? (w & 0x2000u) != 0 : (w & 0x2000u) == 0;  /* E0 A0..BF, ED 80..9F */
}

/* Writes s as a JSON string, validating UTF-8 and counting code points in one pass.
 * Plain bytes are never copied one by one: runs are copied when an escape or the end
 * is reached. A word of 8 bytes skips plain ASCII (or finds the first byte that is not);
 * the last bytes are tested with the word that ends the string.
 * Text that is mostly 3-byte sequences (Korean) stays in an inner loop: one 4-byte load
 * per sequence, single plain ASCII bytes between them (spaces) stepped over. Everything
 * else, and the last bytes, goes through the exact per-sequence check (seq_len). */
int bz_json_string_utf8(lua_State *L, bz_buf *out, const char *str, size_t n, size_t *cps) {
  const unsigned char *s = (const unsigned char *)str, *p = s, *e = s + n, *start = s;
  size_t conts = 0, len;
  if (out->cap - out->len < n + 2) bz_buf_grow(L, out, n + 2);
  out->p[out->len++] = '"';
  while (p < e) {
    unsigned c = *p;
    if (c < 0x80) {
      if (n >= 8) {  /* (shorter strings go byte by byte) */
        uint64_t m = e - p >= 8 ? special8(load8(p)) : tail_special(e, (unsigned)(e - p));
        if (m == 0) { p = e - p >= 8 ? p + 8 : e; continue; }
        if ((len = first_special(m)) > 0) { p += len; continue; }
      }
      if (kind[c]) {
        bz_buf_addv(L, out, start, (size_t)(p - start));
        escape(L, out, (unsigned char)c);
        start = p + 1;
      }
      p++;
      continue;
    }
    for (;;) {  /* a multi-byte run */
      if (e - p >= 4 && plain3(p)) { p += 3; conts += 2; }
      else if (e - p >= 2 && kind[p[0]] == 0 && p[1] >= 0x80) p++;
      else break;
    }
    if (p < e && *p >= 0x80) {
      if ((len = seq_len(p, (size_t)(e - p))) == 0) return 0;
      p += len;
      conts += len - 1;
    }
  }
  bz_buf_addv(L, out, start, (size_t)(e - start));
  bz_buf_addc(L, out, '"');
  *cps = n - conts;
  return 1;
}

void bz_json_string(lua_State *L, bz_buf *out, const char *s, size_t n) {
  size_t cps;
  (void)bz_json_string_utf8(L, out, s, n, &cps);
}

void bz_json_int(lua_State *L, bz_buf *out, long long v) {
  char tmp[24];
  int k = (int)sizeof tmp;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do { tmp[--k] = (char)('0' + u % 10); u /= 10; } while (u);
  if (v < 0) tmp[--k] = '-';
  bz_buf_addv(L, out, tmp + k, sizeof tmp - (size_t)k);
}

void bz_json_key(lua_State *L, bz_buf *out, const char *name, size_t n) {
  if (bz_buf_reserve(out, n + 3) != 0) luaL_error(L, "bizreg: out of memory");
  out->p[out->len++] = '"';
  memcpy(out->p + out->len, name, n);
  out->len += n;
  out->p[out->len++] = '"';
  out->p[out->len++] = ':';
}
