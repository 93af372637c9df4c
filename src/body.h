/* A request body made of segments: bytes held in memory, or whole files read
 * from disk at send time. The multipart writer produces one; the transport
 * streams it (flat memory for large files) or flattens it to a string.
 * Lua sees it as a userdata with metatable BZ_BODY_MT. */
#ifndef BZ_BODY_H
#define BZ_BODY_H

#include <stdint.h>
#include <stdio.h>
#include "buf.h"

#define BZ_BODY_MT "bizreg.body"

typedef enum { BZ_SEG_MEM = 0, BZ_SEG_FILE = 1 } bz_seg_kind;

typedef struct bz_seg {
  bz_seg_kind kind;
  size_t off, len;  /* BZ_SEG_MEM: byte range inside body->mem */
  char *path;       /* BZ_SEG_FILE: malloc'd path */
  int64_t size;     /* BZ_SEG_FILE: size seen at validation; the file must still have it */
} bz_seg;

typedef struct bz_body {
  bz_buf mem;         /* all in-memory bytes, segments point into it */
  bz_seg *segs;
  size_t nsegs, cap;
  int64_t total;      /* Content-Length */
  char content_type[128];  /* e.g. "multipart/form-data; boundary=..." */
} bz_body;

/* Pushes a new empty body userdata (metatable BZ_BODY_MT, __gc frees all). */
bz_body *bz_body_push(lua_State *L);
/* Append bytes as (part of) a memory segment. 0 ok, -1 out of memory. */
int bz_body_add_mem(bz_body *b, const void *p, size_t n);
/* Append a file segment of the given size. 0 ok, -1 out of memory. */
int bz_body_add_file(bz_body *b, const char *path, int64_t size);
void bz_body_free(bz_body *b);

/* Sequential reader, one per transfer (a body may be sent several times). */
typedef struct bz_body_reader {
  const bz_body *b;
  size_t seg;      /* current segment */
  int64_t pos;     /* offset inside current segment */
  FILE *fp;        /* open file of current BZ_SEG_FILE segment */
  int64_t sent;    /* bytes produced so far */
  char err[160];   /* set when a file is missing, shorter or longer than at validation */
} bz_body_reader;

void bz_reader_init(bz_body_reader *r, const bz_body *b);
/* Copies up to n bytes. Returns bytes copied; 0 at the end; (size_t)-1 on error (r->err set). */
size_t bz_reader_read(bz_body_reader *r, char *dst, size_t n);
void bz_reader_close(bz_body_reader *r);

/* Registers the body metatable with methods: __len / :size() -> total,
 * :content_type(), :tostring() -> whole body as a Lua string (files read now). */
void bz_body_open(lua_State *L);

#endif
