/* The request body as Lua sees it (body.h): a userdata whose user value is the table
 * anchoring the strings its BZ_SEG_REF segments point into, with :size(),
 * :content_type(), :tostring() and :free(). Raising calls (out of memory, a wrong
 * self) happen only where no resource is held outside a GC-owned userdata. */
#include <stdlib.h>
#include <string.h>
#include "body.h"

static bz_body *check_body(lua_State *L) { return (bz_body *)luaL_checkudata(L, 1, BZ_BODY_MT); }

static int abs_index(lua_State *L, int i) { return i < 0 && i > LUA_REGISTRYINDEX ? lua_gettop(L) + i + 1 : i; }

static void push_int64(lua_State *L, int64_t v) {
#if LUA_VERSION_NUM >= 503
  lua_pushinteger(L, (lua_Integer)v);
#else
  lua_pushnumber(L, (lua_Number)v);
#endif
}

int bz_body_anchor(lua_State *L, int body, int str) {
  bz_body *b = (bz_body *)lua_touserdata(L, body);
  body = abs_index(L, body);
  str = abs_index(L, str);
  bz_getuservalue(L, body);
  lua_pushvalue(L, str);
  lua_rawseti(L, -2, b->nanchors + 1);
  lua_pop(L, 1);
  return ++b->nanchors;
}

/* __gc: the C memory (the anchor table goes with the userdata). */
static int body_gc(lua_State *L) {
  bz_body_free((bz_body *)bz_testudata(L, 1, BZ_BODY_MT)); /* NULL-safe, idempotent */
  return 0;
}

/* :free() and __close: the C memory and the anchored strings, now rather than at the
 * next collection (a 20 MiB certificate given as data is then the caller's alone).
 * Idempotent; the body is empty afterwards and :tostring() refuses it. */
static int body_free(lua_State *L) {
  bz_body *b = check_body(L);
  int i;
  bz_body_free(b);
  b->freed = 1;
  if (b->nanchors > 0) {
    bz_getuservalue(L, 1);
    for (i = 1; i <= b->nanchors; i++) {
      lua_pushnil(L);
      lua_rawseti(L, -2, i);
    }
    lua_pop(L, 1);
    b->nanchors = 0;
  }
  return 0;
}

static int body_size(lua_State *L) {
  push_int64(L, check_body(L)->total);
  return 1;
}

static int body_content_type(lua_State *L) {
  bz_body *b = check_body(L);
  size_t n = strnlen(b->content_type, sizeof b->content_type);
  if (n == 0)
    lua_pushnil(L);
  else
    lua_pushlstring(L, b->content_type, n);
  return 1;
}

/* Pushes the bytes of file segment s, read (and checked against validation) now.
 * They go into a userdata-owned buffer with non-raising calls while the file is open;
 * the buffer is released as soon as the string exists. 0 ok; -1 with err set. */
static int push_file(lua_State *L, const bz_seg *s, char *err, size_t errlen) {
  bz_body one;
  bz_body_reader r;
  bz_buf *buf;
  size_t got;
  memset(&one, 0, sizeof one);
  one.segs = (bz_seg *)s;  /* read only */
  one.nsegs = 1;
  one.total = s->size;
  buf = bz_buf_push(L);
  if (bz_buf_reserve(buf, (size_t)s->size + 1) != 0) return luaL_error(L, "bizreg: out of memory");
  bz_reader_init(&r, &one);
  do {  /* the reader stops at the segment's end: room never runs out */
    got = bz_reader_read(&r, buf->p + buf->len, (size_t)s->size + 1 - buf->len);
    if (got != (size_t)-1) buf->len += got;
  } while (got != 0 && got != (size_t)-1);
  bz_reader_close(&r);
  if (r.err[0] == '\0' && buf->len != (size_t)s->size) snprintf(r.err, sizeof r.err, "body shorter than its size");
  if (r.err[0] != '\0') {
    snprintf(err, errlen, "%s", r.err);
    bz_buf_free(buf);
    lua_pop(L, 1);
    return -1;
  }
  lua_pushlstring(L, buf->len ? buf->p : "", buf->len);
  bz_buf_free(buf);
  lua_remove(L, -2);
  return 0;
}

/* Pushes segment s as a string: an anchored string itself (no copy), a memory range,
 * or a file's bytes. 0 ok; -1 with err set. Stack index 2 holds the anchor table. */
static int push_seg(lua_State *L, const bz_body *b, const bz_seg *s, char *err, size_t errlen) {
  size_t n;
  if (s->kind == BZ_SEG_FILE) return push_file(L, s, err, errlen);
  if (s->kind == BZ_SEG_REF && s->anchor > 0) {
    lua_rawgeti(L, 2, s->anchor);
    if (lua_type(L, -1) == LUA_TSTRING && lua_tolstring(L, -1, &n) == s->ref && n == s->len) return 0;
    lua_pop(L, 1);  /* a sub-range of its string: copy the range */
  }
  lua_pushlstring(L, s->kind == BZ_SEG_REF ? s->ref : b->mem.p + s->off, s->len);
  return 0;
}

/* Whole body as one string: its segments side by side on the stack, then one
 * lua_concat, which on Lua 5.4 copies each piece once, straight into the result (a
 * file given as data is copied exactly once; no large transient buffer). */
static int body_tostring(lua_State *L) {
  bz_body *b = check_body(L);
  char err[160];
  size_t i;
  if (b->freed || (uint64_t)b->total >= (uint64_t)((size_t)-1) / 2) {
    lua_pushnil(L);
    lua_pushstring(L, b->freed ? "body was freed" : "body too large for a string");
    return 2;
  }
  lua_settop(L, 1);
  bz_getuservalue(L, 1);  /* 2: the anchors */
  if (b->nsegs > 100000) return luaL_error(L, "bizreg: body has too many segments");
  luaL_checkstack(L, (int)b->nsegs + 1, "bizreg: body has too many segments");
  for (i = 0; i < b->nsegs; i++) {
    if (push_seg(L, b, &b->segs[i], err, sizeof err) != 0) {
      lua_pushnil(L);
      lua_pushstring(L, err);
      return 2;
    }
  }
  lua_concat(L, (int)b->nsegs);
  return 1;
}

/* ---- body:chunks([size]): the body as a sequence of strings ------------------------
 * For transports that write a body piece by piece (the nginx cosocket transport): one
 * reader (body.h, the same file checks as libcurl's read callback) fills one buffer of
 * `size` bytes per call, so a 20 MiB file by path never becomes one 20 MiB string. The
 * iterator's upvalues are the body (kept alive while it is used) and its state. */
#define BZ_CHUNKS_MT "bizreg.body.chunks"
#define BZ_CHUNK_DEFAULT (64 * 1024)
#define BZ_CHUNK_MAX (16 * 1024 * 1024)

typedef struct chunks_state {
  bz_body_reader r;
  char *buf;    /* malloc'd, size bytes; freed at the end, on an error, and by __gc */
  size_t size;
  int done;     /* the last chunk was returned (or an error): only nil from here on */
} chunks_state;

static void chunks_release(chunks_state *c) {
  bz_reader_close(&c->r);
  free(c->buf);
  c->buf = NULL;
  c->done = 1;
}

static int chunks_gc(lua_State *L) {
  chunks_state *c = (chunks_state *)bz_testudata(L, 1, BZ_CHUNKS_MT);
  if (c != NULL) chunks_release(c);
  return 0;
}

static int chunks_fail(lua_State *L, chunks_state *c) {
  chunks_release(c);
  lua_pushnil(L);
  lua_pushstring(L, c->r.err);
  return 2;
}

/* The next piece (1..size bytes); nil at the end; nil, message when a file is missing or
 * changed since validation (as :tostring()), and on every call after that. */
static int chunks_next(lua_State *L) {
  const bz_body *b = (const bz_body *)lua_touserdata(L, lua_upvalueindex(1));
  chunks_state *c = (chunks_state *)lua_touserdata(L, lua_upvalueindex(2));
  size_t got;
  if (c->r.err[0] != '\0') return chunks_fail(L, c);
  if (c->done) return 0;
  if (b->freed) {
    snprintf(c->r.err, sizeof c->r.err, "body was freed");
    return chunks_fail(L, c);
  }
  got = bz_reader_read(&c->r, c->buf, c->size);
  if (got == (size_t)-1) return chunks_fail(L, c);
  if (got == 0) {
    if (c->r.sent != b->total) {
      snprintf(c->r.err, sizeof c->r.err, "body ended after %lld of %lld bytes", (long long)c->r.sent,
               (long long)b->total);
      return chunks_fail(L, c);
    }
    chunks_release(c);
    return 0;
  }
  lua_pushlstring(L, c->buf, got);  /* may raise (memory): __gc still closes the reader */
  return 1;
}

static int body_chunks(lua_State *L) {
  bz_body *b = check_body(L);
  lua_Integer size = luaL_optinteger(L, 2, BZ_CHUNK_DEFAULT);
  chunks_state *c;
  luaL_argcheck(L, size >= 1 && size <= BZ_CHUNK_MAX, 2, "chunk size must be 1 to 16 MiB");
  if (b->freed) {
    lua_pushnil(L);
    lua_pushstring(L, "body was freed");
    return 2;
  }
  lua_settop(L, 1);
  c = (chunks_state *)bz_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  c->done = 1;  /* until the buffer exists */
  if (luaL_newmetatable(L, BZ_CHUNKS_MT)) {
    lua_pushcfunction(L, chunks_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  c->size = (size_t)size;
  c->buf = (char *)malloc(c->size);
  if (c->buf == NULL) return luaL_error(L, "bizreg: out of memory");
  bz_reader_init(&c->r, b);
  c->done = 0;
  lua_pushcclosure(L, chunks_next, 2);  /* upvalues: the body (1), the state (2) */
  return 1;
}

static const luaL_Reg body_methods[] = {
    {"size", body_size},
    {"content_type", body_content_type},
    {"tostring", body_tostring},
    {"chunks", body_chunks},
    {"free", body_free},
    {NULL, NULL},
};

/* Pushes the metatable, creating it on first use. */
static void push_metatable(lua_State *L) {
  if (luaL_newmetatable(L, BZ_BODY_MT)) {
    lua_pushcfunction(L, body_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, body_free);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, body_size);
    lua_setfield(L, -2, "__len");
    lua_newtable(L);
    bz_setfuncs(L, body_methods, 0);
    lua_setfield(L, -2, "__index");
  }
}

bz_body *bz_body_push(lua_State *L) {
  bz_body *b = (bz_body *)bz_newuserdata(L, sizeof *b);
  memset(b, 0, sizeof *b);
  push_metatable(L);
  lua_setmetatable(L, -2);
  lua_newtable(L);  /* the anchors; a table of its own also on 5.1, where a new */
  bz_setuservalue(L, -2);  /* userdata's environment is the running function's */
  return b;
}

void bz_body_open(lua_State *L) {
  push_metatable(L);
  lua_pop(L, 1);
}
