/* benchshim: the measuring side of `make bench` (not part of bizreg).
 *  now()                    monotonic seconds
 *  valgrind()               true when running under valgrind
 *  region(label, n, fn)     calls fn() n times; returns the wall seconds taken. Under callgrind
 *                           (--collect-atstart=no) only this loop is collected, and it is dumped
 *                           as its own part named `label`: one instruction count per region.
 *  faults()                 minor, major page faults of this process so far (getrusage)
 *  curl(url, body, hdrs)    a plain libcurl easy handle (what a C program would write):
 *    c:loop(n)              n keep-alive POSTs of body; every status must be 200
 *    c:close()
 * The plain loop lives here so that it runs in the same process as bizreg, interleaved with it,
 * under the same callgrind run, against the same server, with the very same body bytes. */
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <valgrind/callgrind.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, now());
  return 1;
}

static int l_valgrind(lua_State *L) {
  lua_pushboolean(L, RUNNING_ON_VALGRIND != 0);
  return 1;
}

/* The measured loop. valgrind runs with --toggle-collect=bench_measured: only this function and
 * what it calls are counted (no frame above it), so inclusive and self costs stay exact. */
__attribute__((noinline)) void bench_measured(lua_State *L, lua_Integer n) {
  lua_Integer i;
  for (i = 0; i < n; i++) {
    lua_pushvalue(L, 3);
    lua_call(L, 0, 0);
  }
}

static int l_region(lua_State *L) {
  const char *label = luaL_checkstring(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  double t0, t1;
  luaL_checktype(L, 3, LUA_TFUNCTION);
  CALLGRIND_ZERO_STATS;
  t0 = now();
  bench_measured(L, n);
  t1 = now();
  CALLGRIND_DUMP_STATS_AT(label);
  lua_pushnumber(L, t1 - t0);
  return 1;
}

static int l_faults(lua_State *L) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  lua_pushinteger(L, (lua_Integer)ru.ru_minflt);
  lua_pushinteger(L, (lua_Integer)ru.ru_majflt);
  return 2;
}

/* ---- the plain libcurl loop ---------------------------------------------- */

typedef struct {
  CURL *e;
  struct curl_slist *hdrs;
  char *body;
  char resp[4096];
  size_t resp_len;
} plain;

static size_t sink(char *p, size_t s, size_t n, void *u) {
  plain *c = (plain *)u;
  size_t k = s * n;
  if (c->resp_len + k <= sizeof c->resp) memcpy(c->resp + c->resp_len, p, k);
  c->resp_len += k;
  return k;
}

static plain *check_plain(lua_State *L) {
  plain *c = (plain *)luaL_checkudata(L, 1, "benchshim.curl");
  if (c->e == NULL) luaL_error(L, "closed");
  return c;
}

static int l_curl(lua_State *L) {
  const char *url = luaL_checkstring(L, 1);
  size_t blen;
  const char *body = luaL_checklstring(L, 2, &blen);
  plain *c;
  luaL_checktype(L, 3, LUA_TTABLE);
  c = (plain *)lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  luaL_getmetatable(L, "benchshim.curl");
  lua_setmetatable(L, -2);
  c->body = malloc(blen ? blen : 1);
  if (c->body == NULL) return luaL_error(L, "out of memory");
  memcpy(c->body, body, blen);
  c->hdrs = curl_slist_append(NULL, "Expect:");
  lua_pushnil(L);
  while (lua_next(L, 3)) {
    lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
    c->hdrs = curl_slist_append(c->hdrs, lua_tostring(L, -1));
    lua_pop(L, 2);
  }
  c->e = curl_easy_init();
  curl_easy_setopt(c->e, CURLOPT_URL, url);
  curl_easy_setopt(c->e, CURLOPT_HTTPHEADER, c->hdrs);
  curl_easy_setopt(c->e, CURLOPT_POSTFIELDS, c->body);
  curl_easy_setopt(c->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
  curl_easy_setopt(c->e, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c->e, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(c->e, CURLOPT_NOSIGNAL, 1L);
  return 1;
}

static int l_loop(lua_State *L) {
  plain *c = check_plain(L);
  lua_Integer i, n = luaL_checkinteger(L, 2);
  for (i = 0; i < n; i++) {
    long status = 0;
    CURLcode rc;
    c->resp_len = 0;
    rc = curl_easy_perform(c->e);
    if (rc != CURLE_OK) return luaL_error(L, "plain libcurl: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(c->e, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) return luaL_error(L, "plain libcurl: HTTP %d", (int)status);
  }
  return 0;
}

static int l_close(lua_State *L) {
  plain *c = (plain *)luaL_checkudata(L, 1, "benchshim.curl");
  if (c->e) curl_easy_cleanup(c->e);
  curl_slist_free_all(c->hdrs);
  free(c->body);
  c->e = NULL;
  c->hdrs = NULL;
  c->body = NULL;
  return 0;
}

int luaopen_benchshim(lua_State *L) {
  static const luaL_Reg methods[] = { { "loop", l_loop }, { "close", l_close }, { NULL, NULL } };
  static const luaL_Reg funcs[] = { { "now", l_now }, { "valgrind", l_valgrind }, { "region", l_region },
    { "faults", l_faults }, { "curl", l_curl }, { NULL, NULL } };
  luaL_newmetatable(L, "benchshim.curl");
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__gc");
  luaL_setfuncs(L, methods, 0);
  lua_newtable(L);
  luaL_setfuncs(L, funcs, 0);
  return 1;
}
