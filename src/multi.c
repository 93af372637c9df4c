/* The multi interface: several handles transferring at once without blocking
 * (see http.h). While a transfer runs, the multi's user value (a table) maps
 * the transfer id to { handle, body, on_progress }, so all three stay alive
 * exactly as long as the multi needs them (no registry references, no cycles
 * that outlive the multi). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "http.h"

#define MULTI_MAX_IDLE_CONNS 16

typedef struct bz_done {
  bz_http *h;
  CURLcode rc;
} bz_done;

typedef struct bz_multi {
  CURLM *cm;              /* NULL once closed */
  int in_poll;            /* poll running (Lua callbacks may run) */
  bz_http **slots;        /* running transfers, unordered */
  bz_done *done;          /* finished in the current poll; same capacity as slots */
  size_t n, cap;
  size_t ndead;           /* handles closed while attached: their anchors await a sweep */
  lua_Integer next_id;
} bz_multi;

static void slot_remove(bz_multi *m, bz_http *h) {
  size_t i;
  for (i = 0; i < m->n; i++) {
    if (m->slots[i] == h) {
      m->slots[i] = m->slots[--m->n];
      return;
    }
  }
}

/* Ends h's transfer in m without reporting it (non-raising). */
static void detach(bz_multi *m, bz_http *h) {
  bz_http_end(h);  /* callbacks off before curl may call them while removing */
  curl_multi_remove_handle(m->cm, h->easy);
  slot_remove(m, h);
  h->busy = BZ_IDLE;
  h->multi = NULL;
}

void bz_multi_forget(struct bz_multi *m, bz_http *h) {
  if (m->cm == NULL) return;
  detach(m, h);
  m->ndead++;
}

/* Idempotent, non-raising: shared by close(), __gc and __close. */
static void multi_release(bz_multi *m) {
  if (m->cm == NULL) return;
  while (m->n > 0) detach(m, m->slots[m->n - 1]);
  curl_multi_cleanup(m->cm);
  m->cm = NULL;
  free(m->slots);
  free(m->done);
  m->slots = NULL;
  m->done = NULL;
  m->n = m->cap = 0;
}

static bz_multi *check_multi(lua_State *L, int idx) {
  bz_multi *m = (bz_multi *)luaL_checkudata(L, idx, BZ_MULTI_MT);
  if (m->cm == NULL) luaL_error(L, "bizreg.multi: the multi is closed");
  return m;
}

/* Drops anchors whose transfer is no longer running in m (multi at index 1). */
static void sweep(lua_State *L, bz_multi *m) {
  int t;
  bz_getuservalue(L, 1);
  t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    bz_http *h;
    long long id = 0;
    int keep = 0;
    lua_rawgeti(L, -1, 1);
    h = (bz_http *)lua_touserdata(L, -1);
    lua_pop(L, 2);
    if (h != NULL && bz_tointeger(L, -1, &id))
      keep = h->easy != NULL && h->busy == BZ_BUSY_MULTI && h->multi == m && (long long)h->multi_id == id;
    if (!keep) {
      lua_pushvalue(L, -1);
      lua_pushnil(L);
      lua_rawset(L, t);  /* clearing an existing field during traversal is allowed */
    }
  }
  lua_pop(L, 1);
  m->ndead = 0;
}

/* core.multi() -> multi */
int bz_multi_new(lua_State *L) {
  bz_multi *m = (bz_multi *)bz_newuserdata(L, sizeof *m);
  memset(m, 0, sizeof *m);
  lua_newtable(L);
  bz_setuservalue(L, -2);
  m->cm = curl_multi_init();
  if (m->cm == NULL) return luaL_error(L, "bizreg.multi: curl_multi_init failed");
  /* One multi serves every client of a Lua state: without a bound its cache keeps
   * the sockets of clients long gone (libcurl sizes it by handles ever added). */
  curl_multi_setopt(m->cm, CURLMOPT_MAXCONNECTS, (long)MULTI_MAX_IDLE_CONNS);
  luaL_getmetatable(L, BZ_MULTI_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* m:add(h, req) -> true | nil, err (err when the request is refused before sending) */
static int multi_add(lua_State *L) {
  bz_multi *m = check_multi(L, 1);
  bz_http *h = bz_http_check(L, 2);
  int n, top, anchors;
  lua_Integer id;
  CURLMcode mc;
  if (m->in_poll) return luaL_error(L, "bizreg.multi: cannot add while the multi is being polled");
  if (h->busy != BZ_IDLE) return luaL_error(L, "bizreg.multi: the handle is busy with another request");
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  n = bz_http_prepare(L, h, 3);
  if (n) return n;
  top = lua_gettop(L);  /* top-1: body, top: on_progress */
  if (m->n == m->cap) {
    size_t ncap = m->cap ? m->cap * 2 : 8;
    bz_http **ns;
    bz_done *nd;
    ns = (bz_http **)realloc(m->slots, ncap * sizeof *ns);
    if (ns == NULL) return luaL_error(L, "bizreg.multi: out of memory");
    m->slots = ns;
    nd = (bz_done *)realloc(m->done, ncap * sizeof *nd);
    if (nd == NULL) return luaL_error(L, "bizreg.multi: out of memory");
    m->done = nd;
    m->cap = ncap;
  }
  bz_getuservalue(L, 1);
  anchors = lua_gettop(L);
  id = ++m->next_id;
  lua_pushinteger(L, id);
  lua_createtable(L, 3, 0);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, top - 1);
  lua_rawseti(L, -2, 2);
  lua_pushvalue(L, top);
  lua_rawseti(L, -2, 3);
  lua_rawset(L, anchors);

  h->multi = m;
  h->multi_id = id;
  h->busy = BZ_BUSY_MULTI;
  bz_http_begin(h);
  mc = curl_multi_add_handle(m->cm, h->easy);
  if (mc != CURLM_OK) {
    bz_http_end(h);
    h->busy = BZ_IDLE;
    h->multi = NULL;
    lua_pushinteger(L, id);
    lua_pushnil(L);
    lua_rawset(L, anchors);
    return luaL_error(L, "bizreg.multi: curl_multi_add_handle failed: %s", curl_multi_strerror(mc));
  }
  m->slots[m->n++] = h;
  lua_pushboolean(L, 1);
  return 1;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lets the running transfers' callbacks use this poll's stack (L set) or not (L NULL). */
static void bind_stack(bz_multi *m, lua_State *L, int anchors_idx) {
  size_t i;
  for (i = 0; i < m->n; i++) {
    m->slots[i]->L = L;
    m->slots[i]->anchors_idx = anchors_idx;
    m->slots[i]->fn_idx = 0;
  }
}

/* Plain C (no Lua error may be raised): drives the transfers until one finishes or
 * the deadline passes; finished ones are detached into m->done. */
static CURLMcode perform_until(bz_multi *m, double deadline, size_t *ndone) {
  CURLMcode mc;
  for (;;) {
    int running = 0, left;
    CURLMsg *msg;
    double remaining;
    mc = curl_multi_perform(m->cm, &running);
    if (mc != CURLM_OK) return mc;
    while ((msg = curl_multi_info_read(m->cm, &left)) != NULL) {
      CURL *e = msg->easy_handle;
      CURLcode rc = msg->data.result;
      char *priv = NULL;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
      if (priv == NULL) { curl_multi_remove_handle(m->cm, e); continue; }  /* not ours: cannot happen */
      detach(m, (bz_http *)priv);  /* msg is invalid after this */
      m->done[*ndone].h = (bz_http *)priv;
      m->done[*ndone].rc = rc;
      (*ndone)++;
    }
    if (*ndone > 0 || m->n == 0) return CURLM_OK;
    remaining = deadline - now_seconds();
    if (remaining <= 0) return CURLM_OK;
    mc = curl_multi_poll(m->cm, NULL, 0, (int)(remaining * 1000.0) + 1, NULL);
    if (mc != CURLM_OK) return mc;
  }
}

/* Appends { handle, res, err } for each finished transfer to the results (index 4)
 * and drops its anchors (index 3). */
static void push_finished(lua_State *L, bz_multi *m, size_t ndone) {
  size_t i;
  for (i = 0; i < ndone; i++) {
    bz_http *h = m->done[i].h;
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, h->multi_id);
    lua_rawget(L, 3);
    if (lua_type(L, -1) == LUA_TTABLE) lua_rawgeti(L, -1, 1);
    else lua_pushnil(L);
    lua_setfield(L, -3, "handle");
    lua_pop(L, 1);
    bz_http_push_outcome(L, h, m->done[i].rc);
    lua_setfield(L, -3, "err");
    lua_setfield(L, -2, "res");
    lua_rawseti(L, 4, (int)i + 1);
    lua_pushinteger(L, h->multi_id);
    lua_pushnil(L);
    lua_rawset(L, 3);
  }
}

/* m:poll(max_wait_seconds) -> { {handle=h, res=res|nil, err=err|nil}, ... } */
static int multi_poll(lua_State *L) {
  bz_multi *m = check_multi(L, 1);
  double wait = luaL_optnumber(L, 2, 0);
  size_t ndone = 0;
  CURLMcode mc;
  if (!(wait >= 0 && wait <= 86400)) return luaL_argerror(L, 2, "max wait must be between 0 and 86400 seconds");
  if (m->in_poll) return luaL_error(L, "bizreg.multi: poll called from inside this multi's poll");
  lua_settop(L, 2);
  if (m->ndead) sweep(L, m);
  bz_getuservalue(L, 1);  /* 3: anchors */
  lua_newtable(L);        /* 4: results */
  luaL_checkstack(L, BZ_CB_STACK, "bizreg.multi");
  bind_stack(m, L, 3);
  m->in_poll = 1;  /* from here until in_poll = 0: no Lua error may be raised */
  mc = perform_until(m, now_seconds() + wait, &ndone);
  bind_stack(m, NULL, 0);
  m->in_poll = 0;
  if (mc != CURLM_OK && ndone == 0) return luaL_error(L, "bizreg.multi: %s", curl_multi_strerror(mc));
  push_finished(L, m, ndone);
  lua_pushvalue(L, 4);
  return 1;
}

static int multi_count(lua_State *L) {
  bz_multi *m = check_multi(L, 1);
  lua_pushinteger(L, (lua_Integer)m->n);
  return 1;
}

static int multi_close(lua_State *L) {
  bz_multi *m = (bz_multi *)luaL_checkudata(L, 1, BZ_MULTI_MT);
  if (m->in_poll) return luaL_error(L, "bizreg.multi: cannot close the multi while it is being polled");
  if (m->cm == NULL) return 0;
  multi_release(m);
  lua_newtable(L);
  bz_setuservalue(L, 1);  /* drop every anchor */
  return 0;
}

static int multi_gc(lua_State *L) {
  bz_multi *m = (bz_multi *)luaL_checkudata(L, 1, BZ_MULTI_MT);
  if (!m->in_poll) multi_release(m);  /* in_poll: lua_close from a callback (see http_gc) */
  return 0;
}

static int multi_closed(lua_State *L) {
  bz_multi *m = (bz_multi *)luaL_checkudata(L, 1, BZ_MULTI_MT);
  lua_pushboolean(L, m->cm == NULL);
  return 1;
}

static int multi_tostring(lua_State *L) {
  bz_multi *m = (bz_multi *)luaL_checkudata(L, 1, BZ_MULTI_MT);
  lua_pushstring(L, m->cm ? "bizreg.multi (open)" : "bizreg.multi (closed)");
  return 1;
}

static const luaL_Reg multi_methods[] = {
  { "add", multi_add },
  { "poll", multi_poll },
  { "count", multi_count },
  { "close", multi_close },
  { "closed", multi_closed },
  { NULL, NULL } };

void bz_multi_open(lua_State *L) {
  luaL_newmetatable(L, BZ_MULTI_MT);
  lua_newtable(L);
  bz_setfuncs(L, multi_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, multi_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, multi_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, multi_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}
