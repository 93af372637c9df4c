/* Plain JSON from any Lua value: what unknown_fields = "send" writes for a key no row names.
 * Knows no schema and no API; calls only the JSON writer (json.c). */
#ifndef BZ_JSON_ANY_H
#define BZ_JSON_ANY_H
#include <stddef.h>
#include "buf.h"

/* A proper sequence: every key an integer in 1..n, n = raw length (read raw: no metamethod runs). */
int bz_is_sequence(lua_State *L, int idx, size_t n);
/* Writes the value at idx as JSON: a valid UTF-8 string, a finite number, a boolean, cjson.null,
 * or a table of those (a proper non-empty sequence as an array, else an object whose keys are all
 * strings), nested less than BZ_JSON_ANY_DEPTH - depth levels (cycles end there). Returns 0 when
 * the value is not plain JSON: out may then hold a part of it, the caller cuts it off. */
int bz_json_any(lua_State *L, bz_buf *out, int idx, int depth);

#define BZ_JSON_ANY_DEPTH 32

#endif
