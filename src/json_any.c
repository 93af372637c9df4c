/* Plain JSON from any Lua value (json_any.h). Tables are read raw (lua_rawgeti / lua_next),
 * like the validating walk: no __index, __pairs or __len runs. */
#include <math.h>
#include <stdio.h>
#include "compat.h"
#include "json.h"
#include "json_any.h"

int bz_is_sequence(lua_State *L, int idx, size_t n) {
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    long long k;
#if LUA_VERSION_NUM >= 503
    /* a table stores an integral float key as an integer: no other number is 1..n */
    int ok = lua_isinteger(L, -2) && (k = (long long)lua_tointeger(L, -2)) >= 1 && (size_t)k <= n;
#else
    int ok = lua_type(L, -2) == LUA_TNUMBER && bz_tointeger(L, -2, &k) && k >= 1 && (size_t)k <= n;
#endif
    if (!ok) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
    count++;
  }
  return count == n;
}

/* A finite number: an integer as such, else the shortest form that reads back the same. */
static int write_number(lua_State *L, bz_buf *out, int idx) {
  long long v;
  double d = (double)lua_tonumber(L, idx);
  char tmp[32];
  int n;
  if (bz_tointeger(L, idx, &v)) {
    bz_json_int(L, out, v);
    return 1;
  }
  if (d != d || d == HUGE_VAL || d == -HUGE_VAL) return 0;
  n = snprintf(tmp, sizeof tmp, "%.17g", d);
  bz_buf_add(L, out, tmp, (size_t)n);
  return 1;
}

static int write_table(lua_State *L, bz_buf *out, int idx, int depth) {
  size_t n = bz_rawlen(L, idx), i, len;
  int first = 1;
  luaL_checkstack(L, 4, "bizreg: payload nested too deeply");
  if (n > 0 && bz_is_sequence(L, idx, n)) {
    bz_buf_addc(L, out, '[');
    for (i = 1; i <= n; i++) {
      int ok;
      if (i > 1) bz_buf_addc(L, out, ',');
      lua_rawgeti(L, idx, (int)i);
      ok = bz_json_any(L, out, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
      if (!ok) return 0;
    }
    bz_buf_addc(L, out, ']');
    return 1;
  }
  bz_buf_addc(L, out, '{');
  lua_pushnil(L);
  while (lua_next(L, idx)) {  /* key at -2, value at -1 */
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      return 0;
    }
    k = lua_tolstring(L, -2, &len);  /* a string key: no conversion in place */
    if (!first) bz_buf_addc(L, out, ',');
    first = 0;
    if (!bz_json_string_utf8(L, out, k, len, &len)) {
      lua_pop(L, 2);
      return 0;
    }
    bz_buf_addc(L, out, ':');
    if (!bz_json_any(L, out, lua_gettop(L), depth + 1)) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  bz_buf_addc(L, out, '}');
  return 1;
}

int bz_json_any(lua_State *L, bz_buf *out, int idx, int depth) {
  size_t len;
  const char *str;
  if (depth >= BZ_JSON_ANY_DEPTH) return 0;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING:
      str = lua_tolstring(L, idx, &len);
      return bz_json_string_utf8(L, out, str, len, &len);
    case LUA_TNUMBER: return write_number(L, out, idx);
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) bz_buf_add(L, out, "true", 4);
      else bz_buf_add(L, out, "false", 5);
      return 1;
    case LUA_TLIGHTUSERDATA:  /* cjson.null only */
      if (lua_touserdata(L, idx) != NULL) return 0;
      bz_buf_add(L, out, "null", 4);
      return 1;
    case LUA_TTABLE: return write_table(L, out, idx, depth);
    default: return 0;
  }
}
