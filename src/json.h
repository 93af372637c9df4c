/* Minimal JSON writer used by the validating walk. Output is UTF-8 as given
 * (no \u escapes for non-ASCII), '/' is not escaped, control characters are. */
#ifndef BZ_JSON_H
#define BZ_JSON_H
#include "buf.h"

/* s must already be valid UTF-8. Raises only on out-of-memory. */
void bz_json_string(lua_State *L, bz_buf *out, const char *s, size_t n);
void bz_json_int(lua_State *L, bz_buf *out, long long v);
/* Appends "name": */
void bz_json_key(lua_State *L, bz_buf *out, const char *name);

#endif
