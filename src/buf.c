#include <stdlib.h>
#include <string.h>
#include "buf.h"

#define BZ_BUF_MT "bizreg.buf"

int bz_buf_reserve(bz_buf *b, size_t extra) {
  size_t need, ncap;
  char *np;
  if (extra > (size_t)-1 - b->len) return -1;
  need = b->len + extra;
  if (need <= b->cap) return 0;
  ncap = b->cap ? b->cap : 256;
  while (ncap < need) ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
  np = (char *)realloc(b->p, ncap);
  if (np == NULL) return -1;
  b->p = np;
  b->cap = ncap;
  return 0;
}

int bz_buf_append(bz_buf *b, const void *s, size_t n) {
  if (n == 0) return 0;
  if (bz_buf_reserve(b, n) != 0) return -1;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

void bz_buf_free(bz_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static int buf_gc(lua_State *L) {
  bz_buf_free((bz_buf *)lua_touserdata(L, 1));
  return 0;
}

bz_buf *bz_buf_push(lua_State *L) {
  bz_buf *b = (bz_buf *)bz_newuserdata(L, sizeof *b);
  b->p = NULL;
  b->len = b->cap = 0;
  if (luaL_newmetatable(L, BZ_BUF_MT)) {
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

void bz_buf_grow(lua_State *L, bz_buf *b, size_t extra) {
  if (bz_buf_reserve(b, extra) != 0) luaL_error(L, "bizreg: out of memory");
}

bz_buf *bz_buf_take(lua_State *L, int cache) {
  bz_buf *b = (bz_buf *)lua_touserdata(L, cache);
  if (b == NULL) return bz_buf_push(L);
  lua_pushvalue(L, cache);
  lua_pushboolean(L, 0);
  lua_replace(L, cache);
  b->len = 0;
  return b;
}

void bz_buf_keep(lua_State *L, int idx, int cache) {
  bz_buf *b = (bz_buf *)lua_touserdata(L, idx);
  if (b->cap > BZ_BUF_KEEP) {
    bz_buf_free(b);
    return;
  }
  lua_pushvalue(L, idx);
  lua_replace(L, cache);
}
