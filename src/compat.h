/* Lua 5.1 / 5.2 / 5.3 / 5.4 / LuaJIT differences, in one place.
 * Every shim has a bz_ prefix: LuaJIT 2.1 already exports some 5.2 API
 * (luaL_setfuncs, luaL_testudata), so unprefixed shims would clash. */
#ifndef BZ_COMPAT_H
#define BZ_COMPAT_H

#include <lua.h>
#include <lauxlib.h>
#include <math.h>
#include <string.h>

/* The interpreter running luaopen must be the one these headers are from. A build for
 * another Lua usually fails earlier, in the dynamic loader (a missing symbol such as
 * lua_getiuservalue); bizreg/init.lua then finds BZ_BUILT_FOR's text in the .so file and
 * says the same as this. _VERSION is read raw from the globals table. */
#define BZ_BUILT_FOR "bizreg.core was built for " LUA_VERSION
static inline void bz_check_lua_version(lua_State *L) {
  const char *running;
#if LUA_VERSION_NUM >= 502
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
#else
  lua_pushvalue(L, LUA_GLOBALSINDEX);
#endif
  lua_pushliteral(L, "_VERSION");
  lua_rawget(L, -2);
  running = lua_tostring(L, -1);  /* NULL: a host without the base library; nothing to compare */
  if (running != NULL && strcmp(running, LUA_VERSION) != 0)
    luaL_error(L, "%s; this is %s: rebuild with make LUA=lua%s", BZ_BUILT_FOR, running,
               strncmp(running, "Lua ", 4) == 0 ? running + 4 : "");
  lua_pop(L, 2);
}

#if LUA_VERSION_NUM >= 502
#define bz_rawlen(L, i) lua_rawlen((L), (i))
#define bz_setfuncs(L, l, n) luaL_setfuncs((L), (l), (n))
#define bz_testudata(L, i, t) luaL_testudata((L), (i), (t))
#else
#define bz_rawlen(L, i) lua_objlen((L), (i))
static inline void bz_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
static inline void *bz_testudata(lua_State *L, int i, const char *tname) {
  void *p = lua_touserdata(L, i);
  if (p == NULL || !lua_getmetatable(L, i)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}
#endif

#if LUA_VERSION_NUM >= 504
#define bz_newuserdata(L, sz) lua_newuserdatauv((L), (sz), 1)
#else
#define bz_newuserdata(L, sz) lua_newuserdata((L), (sz))
#endif

/* Integer view of a number. Integral floats are accepted on every version
 * (5.1/LuaJIT have no integer subtype, and cjson decodes 5.4 numbers as floats). */
static inline int bz_tointeger(lua_State *L, int i, long long *out) {
  lua_Number n;
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, i)) { *out = (long long)lua_tointeger(L, i); return 1; }
#endif
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  n = lua_tonumber(L, i);
  if (n != n || n < -9.2233720368547758e18 || n >= 9.2233720368547758e18 || floor(n) != n) return 0;
  *out = (long long)n;
  return 1;
}


/* The single user value of a userdata (a table here): pushes it / pops and sets it.
 * 5.1 and LuaJIT use the userdata environment table. */
#if LUA_VERSION_NUM >= 504
#define bz_getuservalue(L, i) ((void)lua_getiuservalue((L), (i), 1))
#define bz_setuservalue(L, i) ((void)lua_setiuservalue((L), (i), 1))
#elif LUA_VERSION_NUM >= 502
#define bz_getuservalue(L, i) ((void)lua_getuservalue((L), (i)))
#define bz_setuservalue(L, i) ((void)lua_setuservalue((L), (i)))
#else
#define bz_getuservalue(L, i) ((void)lua_getfenv((L), (i)))
#define bz_setuservalue(L, i) ((void)lua_setfenv((L), (i)))
#endif

/* ---- libcurl >= 7.68 (Ubuntu 20.04) up to today ---------------------------------
 * Active where <curl/curl.h> was included first. CURLOPT_PROTOCOLS (a bitmask) is
 * deprecated from 7.85, which has the string form. */
#ifdef LIBCURL_VERSION_NUM
#define BZ_CURL_AT_LEAST(maj, min) (LIBCURL_VERSION_NUM >= (((maj) << 16) | ((min) << 8)))

static inline CURLcode bz_curl_http_only(CURL *e) {
  CURLcode rc;
#if BZ_CURL_AT_LEAST(7, 85)
  rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  return rc;
}
#endif

#endif
