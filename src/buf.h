/* Growable byte buffer. Either embedded in another struct (plain C, non-raising
 * bz_buf_grow) or owned by a Lua userdata (bz_buf_push: its __gc frees the memory,
 * so a Lua error raised while building cannot leak). */
#ifndef BZ_BUF_H
#define BZ_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "compat.h"

typedef struct bz_buf {
  char *p;
  size_t len, cap;
} bz_buf;

/* Non-raising core: 0 on success, -1 on out-of-memory. */
int bz_buf_reserve(bz_buf *b, size_t extra);
int bz_buf_append(bz_buf *b, const void *s, size_t n);
void bz_buf_free(bz_buf *b);

/* Pushes a new userdata owning an empty buffer; its __gc frees it. */
bz_buf *bz_buf_push(lua_State *L);
/* A buffer reused across calls, kept in the stack slot `cache` (an upvalue of the
 * encoding function; false when empty). take: pushes the cached buffer, emptied (the slot
 * is cleared while in use: a nested call, e.g. from a finalizer run mid-walk, or any call
 * after an error left it out, makes a new one), or a new one. keep: puts the buffer at idx
 * back, unless it grew past BZ_BUF_KEEP: that memory is released at once instead. */
#define BZ_BUF_KEEP (64 * 1024)
bz_buf *bz_buf_take(lua_State *L, int cache);
void bz_buf_keep(lua_State *L, int idx, int cache);

/* Raising variants for use while walking Lua values (memory owned by userdata). */
void bz_buf_grow(lua_State *L, bz_buf *b, size_t extra);  /* raises on out-of-memory */

/* Copies n bytes; up to 16 without a call (the walk appends many tiny pieces: keys,
 * short values): two overlapping moves, never reading or writing outside [0, n). */
static inline void bz_copy(char *d, const void *src, size_t n) {
  const char *s = (const char *)src;
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    memcpy(d, &a, 4);
    memcpy(d + n - 4, &b, 4);
  } else if (n < 4) {
    size_t i;
    for (i = 0; i < n; i++) d[i] = s[i];
  } else {
    memcpy(d, s, n);
  }
}

/* Inline fast paths: the walk appends many tiny pieces. bz_buf_add for sizes known at
 * compile time (memcpy is inlined), bz_buf_addv for short pieces of run-time size. */
static inline void bz_buf_add(lua_State *L, bz_buf *b, const void *s, size_t n) {
  if (b->cap - b->len < n) bz_buf_grow(L, b, n);
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
}
static inline void bz_buf_addv(lua_State *L, bz_buf *b, const void *s, size_t n) {
  if (b->cap - b->len < n) bz_buf_grow(L, b, n);
  bz_copy(b->p + b->len, s, n);
  b->len += n;
}
static inline void bz_buf_addc(lua_State *L, bz_buf *b, char c) {
  if (b->cap == b->len) bz_buf_grow(L, b, 1);
  b->p[b->len++] = c;
}

#endif
