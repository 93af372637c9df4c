/* The libcurl easy handle of a client (see http.h): lifetime, handle options,
 * and the blocking h:request(). The handle is reused for every request so
 * sequential requests share one keep-alive connection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"

/* ---- handle lifetime --------------------------------------------------------- */

/* Idempotent, non-raising: shared by close(), __gc and __close. */
static void http_release(bz_http *h) {
  if (h->easy == NULL) return;
  if (h->busy == BZ_BUSY_MULTI && h->multi != NULL) bz_multi_forget(h->multi, h);
  h->busy = BZ_IDLE;
  h->multi = NULL;
  bz_http_end(h);
  curl_easy_cleanup(h->easy);
  h->easy = NULL;
  bz_buf_free(&h->hlines);
  free(h->hnodes);
  h->hnodes = NULL;
  h->hnodes_cap = 0;
  bz_buf_free(&h->resp);
  bz_buf_free(&h->hdrs);
}

static int http_gc(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  /* A running transfer is always anchored, so it can only be finalized by a
   * lua_close from inside one of its callbacks (os.exit(c, true)): leave the
   * handle to the process exit rather than free it under libcurl's feet. */
  if (h->busy == BZ_BUSY_SYNC || (h->busy == BZ_BUSY_MULTI && h->L != NULL)) return 0;
  http_release(h);
  return 0;
}

static int http_close(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  if (h->busy == BZ_BUSY_SYNC)
    return luaL_error(L, "bizreg.http: cannot close a handle while its request is running");
  if (h->busy == BZ_BUSY_MULTI && h->L != NULL)
    return luaL_error(L, "bizreg.http: cannot close a handle while its multi is being polled");
  http_release(h);
  return 0;
}

static int http_closed(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  lua_pushboolean(L, h->easy == NULL);
  return 1;
}

static int http_tostring(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  lua_pushstring(L, h->easy ? "bizreg.http (open)" : "bizreg.http (closed)");
  return 1;
}

/* ---- options ------------------------------------------------------------------ */

/* opts[name] at the top of the stack (left there: strings stay anchored). */
static double opt_seconds(lua_State *L, int opts, const char *name, double dflt) {
  double v;
  lua_getfield(L, opts, name);
  if (lua_isnil(L, -1)) return dflt;
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must be a number of seconds", name));
  v = (double)lua_tonumber(L, -1);
  if (!(v > 0 && v <= BZ_MAX_SECONDS))
    luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must be > 0 and <= %d seconds", name, (int)BZ_MAX_SECONDS));
  return v;
}

static const char *opt_string(lua_State *L, int opts, const char *name) {
  size_t n;
  const char *s;
  lua_getfield(L, opts, name);
  if (lua_isnil(L, -1)) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must be a string", name));
  s = lua_tolstring(L, -1, &n);
  if (strlen(s) != n) luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must not contain NUL", name));
  return s;
}

/* The handle options of core.http(opts); strings stay anchored on the stack. */
typedef struct bz_handle_opts {
  double timeout, ctimeout, max_idle;
  int verify;
  const char *ca, *proxy, *ua;
  size_t max_body;
} bz_handle_opts;

static void read_handle_opts(lua_State *L, bz_handle_opts *o) {
  o->timeout = opt_seconds(L, 1, "timeout", BZ_DEFAULT_TIMEOUT);
  o->ctimeout = opt_seconds(L, 1, "connect_timeout", BZ_DEFAULT_CONNECT_TIMEOUT);
  o->max_idle = opt_seconds(L, 1, "max_idle", BZ_DEFAULT_MAX_IDLE);
  o->verify = 1;
  lua_getfield(L, 1, "verify_tls");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TBOOLEAN) luaL_argerror(L, 1, "opts.verify_tls must be a boolean");
    o->verify = lua_toboolean(L, -1);
  }
  o->ca = opt_string(L, 1, "ca_file");
  o->proxy = opt_string(L, 1, "proxy");
  o->ua = opt_string(L, 1, "user_agent");
  o->max_body = BZ_DEFAULT_MAX_BODY;
  lua_getfield(L, 1, "max_response_bytes");
  if (!lua_isnil(L, -1)) {
    long long v = 0;
    if (!bz_tointeger(L, -1, &v) || v < 0) luaL_argerror(L, 1, "opts.max_response_bytes must be an integer >= 0");
    o->max_body = (unsigned long long)v > (unsigned long long)((size_t)-1 / 2) ? (size_t)-1 / 2 : (size_t)v;
  }
}

/* Options set once per handle; bz_http_prepare sets the per-request ones. */
static CURLcode configure(CURL *e, bz_http *h, const bz_handle_opts *o) {
  CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK) rc = bz_curl_http_only(e);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  SET(CURLOPT_ERRORBUFFER, h->errbuf);
  SET(CURLOPT_PRIVATE, (void *)h);
  if (rc == CURLE_OK) rc = bz_http_callbacks(e, h);
  SET(CURLOPT_NOPROGRESS, 1L);
  SET(CURLOPT_TIMEOUT_MS, h->timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, bz_seconds_to_ms(o->ctimeout));
  SET(CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
  SET(CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
  if (o->ca) SET(CURLOPT_CAINFO, o->ca);
  if (o->proxy) SET(CURLOPT_PROXY, o->proxy);
  if (o->ua) SET(CURLOPT_USERAGENT, o->ua);
  if (o->max_body > 0) SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
  SET(CURLOPT_MAXAGE_CONN, (long)(o->max_idle < 1 ? 1 : o->max_idle));  /* whole seconds */
#undef SET
  return rc;
}

/* core.http(opts) -> handle */
int bz_http_new(lua_State *L) {
  bz_handle_opts o;
  bz_http *h;
  CURL *e;
  CURLcode rc;
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
  }
  read_handle_opts(L, &o);
  h = (bz_http *)bz_newuserdata(L, sizeof *h);
  memset(h, 0, sizeof *h);
  e = curl_easy_init();
  if (e == NULL) return luaL_error(L, "bizreg.http: curl_easy_init failed");
  h->easy = e;
  h->max_body = o.max_body;
  h->timeout_ms = bz_seconds_to_ms(o.timeout);
  luaL_getmetatable(L, BZ_HTTP_MT);
  lua_setmetatable(L, -2);  /* from here on __gc releases the easy handle */
  rc = configure(e, h, &o);
  if (rc != CURLE_OK) {
    http_release(h);
    return luaL_error(L, "bizreg.http: cannot configure the handle: %s", curl_easy_strerror(rc));
  }
  return 1;
}

/* The handle at index 1 of a method. The metatable is the methods' upvalue: comparing
 * with it is cheaper than luaL_checkudata's registry look-up by name. */
static bz_http *self_handle(lua_State *L) {
  bz_http *h = (bz_http *)lua_touserdata(L, 1);
  if (h != NULL && lua_getmetatable(L, 1)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same && h->easy != NULL) return h;
  }
  return bz_http_check(L, 1);  /* raises with the usual message */
}

/* h:request(req) -> res | nil, err */
static int http_request(lua_State *L) {
  bz_http *h = self_handle(L);
  int n, top;
  CURLcode rc;
  if (h->busy != BZ_IDLE) return luaL_error(L, "bizreg.http: the handle is busy with another request");
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  n = bz_http_prepare(L, h, 2);
  if (n) return n;
  top = lua_gettop(L);  /* top-1: body, top: on_progress (anchored on this stack) */
  luaL_checkstack(L, BZ_CB_STACK, "bizreg.http");
  h->L = L;
  h->fn_idx = h->progress ? top : 0;
  h->anchors_idx = 0;
  bz_http_begin(h);
  h->busy = BZ_BUSY_SYNC;
  rc = curl_easy_perform(h->easy);  /* no Lua error may be raised until it returns */
  h->busy = BZ_IDLE;
  bz_http_end(h);
  bz_http_push_outcome(L, h, rc);
  if (!lua_isnil(L, -2)) lua_pop(L, 1);  /* res */
  else return 2;                         /* nil, err */
  return 1;
}

/* ---- module-level ------------------------------------------------------------------ */

int bz_curl_version(lua_State *L) {
  lua_pushstring(L, curl_version());
  return 1;
}

static const luaL_Reg http_methods[] = {
  { "request", http_request },
  { "close", http_close },
  { "closed", http_closed },
  { NULL, NULL } };

void bz_http_open(lua_State *L) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  luaL_newmetatable(L, BZ_HTTP_MT);
  lua_newtable(L);
  lua_pushvalue(L, -2);
  bz_setfuncs(L, http_methods, 1);  /* upvalue: the metatable (self_handle) */
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, http_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, http_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, http_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  bz_multi_open(L);
  bz_response_open(L);
}
