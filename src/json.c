#include <stdio.h>
#include <string.h>
#include "json.h"

void bz_json_string(lua_State *L, bz_buf *out, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i, start = 0;
  /* worst case every byte becomes \u00XX: reserve once so the common path copies spans */
  if (bz_buf_reserve(out, n + 2) != 0) luaL_error(L, "bizreg: out of memory");
  bz_buf_addc(L, out, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[7];
    size_t elen = 2;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    bz_buf_add(L, out, s + start, i - start);
    start = i + 1;
    esc[0] = '\\';
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        elen = 6;
    }
    bz_buf_add(L, out, esc, elen);
  }
  bz_buf_add(L, out, s + start, n - start);
  bz_buf_addc(L, out, '"');
}

void bz_json_int(lua_State *L, bz_buf *out, long long v) {
  char tmp[32];
  int k = snprintf(tmp, sizeof tmp, "%lld", v);
  bz_buf_add(L, out, tmp, (size_t)k);
}

void bz_json_key(lua_State *L, bz_buf *out, const char *name) {
  bz_json_string(L, out, name, strlen(name));
  bz_buf_addc(L, out, ':');
}
