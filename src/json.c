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

/* SWAR test over 8 bytes: true when all are ASCII >= 0x20 and none is '"' or '\\'. */
static int plain8(const unsigned char *p) {
  uint64_t x, ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL, q, b;
  memcpy(&x, p, 8);
  if (x & high) return 0;                          /* non-ASCII */
  if ((x - ones * 0x20) & ~x & high) return 0;     /* a byte < 0x20 */
  q = x ^ (ones * '"');
  b = x ^ (ones * '\\');
  return !(((q - ones) & ~q & high) | ((b - ones) & ~b & high));
}

int bz_json_string_utf8(lua_State *L, bz_buf *out, const char *str, size_t n, size_t *cps) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, start = 0, count = 0;
  if (bz_buf_reserve(out, n + 2) != 0) luaL_error(L, "bizreg: out of memory");
  out->p[out->len++] = '"';
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if (n - i >= 8 && plain8(s + i)) { i += 8; count += 8; continue; }
      if (kind[c]) {
        bz_buf_add(L, out, s + start, i - start);
        escape(L, out, c);
        start = i + 1;
      }
      i++;
      count++;
      continue;
    }
    /* the common multi-byte case: a 3-byte sequence (Hangul), checked inline */
    if (c >= 0xE1 && c <= 0xEC && n - i > 2 && (((s[i + 1] & 0xC0) | ((s[i + 2] & 0xC0) >> 2)) == 0xA0)) {
      i += 3;
    } else {
      size_t len = seq_len(s + i, n - i);
      if (len == 0) return 0;
      i += len;
    }
    count++;
  }
  bz_buf_add(L, out, s + start, n - start);
  bz_buf_addc(L, out, '"');
  *cps = count;
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
  bz_buf_add(L, out, tmp + k, sizeof tmp - (size_t)k);
}

void bz_json_key(lua_State *L, bz_buf *out, const char *name, size_t n) {
  if (bz_buf_reserve(out, n + 3) != 0) luaL_error(L, "bizreg: out of memory");
  out->p[out->len++] = '"';
  memcpy(out->p + out->len, name, n);
  out->len += n;
  out->p[out->len++] = '"';
  out->p[out->len++] = ':';
}
