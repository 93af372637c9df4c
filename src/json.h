/* Minimal JSON writer used by the validating walk. Output is UTF-8 as given
 * (no \u escapes for non-ASCII), '/' is not escaped, control characters are. */
#ifndef BZ_JSON_H
#define BZ_JSON_H
#include "buf.h"

/* Writes s as a JSON string while checking it is well-formed UTF-8 and counting its
 * code points (one pass). Returns 0, with partial output, when s is not valid UTF-8. */
int bz_json_string_utf8(lua_State *L, bz_buf *out, const char *s, size_t n, size_t *cps);
/* For strings known to be valid UTF-8 (schema names, normalised values). */
void bz_json_string(lua_State *L, bz_buf *out, const char *s, size_t n);
/* For bytes known to need no escape and to be valid UTF-8 (enumeration values, normalised
 * date-times): written between quotes as they are. */
static inline void bz_json_plain(lua_State *L, bz_buf *out, const char *s, size_t n) {
  if (out->cap - out->len < n + 2) bz_buf_grow(L, out, n + 2);
  out->p[out->len++] = '"';
  bz_copy(out->p + out->len, s, n);
  out->len += n;
  out->p[out->len++] = '"';
}
void bz_json_int(lua_State *L, bz_buf *out, long long v);
/* Appends "name": for a plain ASCII identifier (schema row names). */
void bz_json_key(lua_State *L, bz_buf *out, const char *name, size_t n);

#endif
