/* A request body made of segments: bytes held in memory, bytes of a Lua string the
 * body keeps alive (a file given as data: never copied), or whole files read from
 * disk at send time. The multipart writer produces one; the transport streams it
 * (flat memory for large files) or flattens it to a string (one copy of each
 * string's bytes). Lua sees it as a userdata with metatable BZ_BODY_MT whose user
 * value is the table anchoring those strings; :free() releases everything at once,
 * when the call that built it ends, instead of at the next GC. */
#ifndef BZ_BODY_H
#define BZ_BODY_H

#include <stdint.h>
#include <stdio.h>
#include "buf.h"

#define BZ_BODY_MT "bizreg.body"

typedef enum { BZ_SEG_MEM = 0, BZ_SEG_FILE = 1, BZ_SEG_REF = 2 } bz_seg_kind;

/* SHA-256 of a file's bytes: recorded while validation reads the file (bz_sha256_feed
 * is a bz_media_feed), verified while the reader streams it. OpenSSL's libcrypto (EVP)
 * computes it, with the CPU's SHA instructions where there are some: the one SHA-256
 * of the C core (core.sha256 uses it too). A context owns an EVP_MD_CTX from init
 * until final or free. */
#define BZ_SHA256_LEN 32
struct evp_md_ctx_st;  /* OpenSSL's EVP_MD_CTX */
typedef struct bz_sha256 {
  struct evp_md_ctx_st *md;  /* NULL: not started, finished, or init failed */
  int failed;                /* an update failed: final reports it */
} bz_sha256;
/* 0, or -1 when libcrypto cannot start a digest (out of memory): c then holds nothing. */
int bz_sha256_init(bz_sha256 *c);
void bz_sha256_update(bz_sha256 *c, const void *p, size_t n);
/* Writes the digest and releases the context: 0, or -1 (no digest) if any step failed. */
int bz_sha256_final(bz_sha256 *c, unsigned char out[BZ_SHA256_LEN]);
/* Releases a context that will not be finished (idempotent; a no-op after final). */
void bz_sha256_free(bz_sha256 *c);
/* One call: the digest of n bytes at p. 0, or -1 (out of memory). */
int bz_sha256_digest(const void *p, size_t n, unsigned char out[BZ_SHA256_LEN]);
void bz_sha256_feed(void *ctx, const unsigned char *p, size_t n);  /* ctx: a bz_sha256 */

typedef struct bz_seg {
  bz_seg_kind kind;
  size_t off, len;  /* BZ_SEG_MEM: byte range inside body->mem; BZ_SEG_REF: len */
  const char *ref;  /* BZ_SEG_REF: bytes the body does not own (see bz_body_add_ref) */
  int anchor;       /* BZ_SEG_REF: index of their string in the anchor table, 0: none */
  char *path;       /* BZ_SEG_FILE: malloc'd path */
  int64_t size;     /* BZ_SEG_FILE: size seen at validation; the file must still have it */
  int checked;      /* BZ_SEG_FILE: sha256 holds the digest of the validated bytes */
  unsigned char sha256[BZ_SHA256_LEN];
} bz_seg;

typedef struct bz_body {
  bz_buf mem;         /* all in-memory bytes, segments point into it */
  bz_seg *segs;
  size_t nsegs, cap;
  int64_t total;      /* Content-Length */
  char content_type[128];  /* e.g. "multipart/form-data; boundary=..." */
  int nanchors;       /* strings in the user value table (bz_body_anchor) */
  int freed;          /* :free() ran: no bytes left to send or flatten */
} bz_body;

/* Pushes a new empty body userdata (metatable BZ_BODY_MT, __gc frees all) with its
 * (empty) anchor table. Raises only on out-of-memory. */
bz_body *bz_body_push(lua_State *L);
/* Stores the string at index str in the anchor table of the body at index body, so
 * its bytes live as long as the body (or until :free()); returns its anchor number,
 * for bz_body_add_ref. Raises only on out-of-memory. */
int bz_body_anchor(lua_State *L, int body, int str);
/* Append bytes as (part of) a memory segment. 0 ok, -1 out of memory. */
int bz_body_add_mem(bz_body *b, const void *p, size_t n);
/* Reserve room for exactly n more in-memory bytes (one allocation of the size the
 * caller computed, no doubling). 0 ok, -1 out of memory. */
int bz_body_reserve_mem(bz_body *b, size_t n);
/* Append a segment made of n bytes at p that the body does not copy: p must stay valid
 * as long as the body is read (anchor = bz_body_anchor's number for a Lua string;
 * 0 when the caller keeps p alive by other means). 0 ok, -1 out of memory. */
int bz_body_add_ref(bz_body *b, const char *p, size_t n, int anchor);
/* Append a file segment of the given size. 0 ok, -1 out of memory. sha256 (NULL: size
 * check only) is the digest of the file's bytes at validation: the reader then
 * withholds the segment's last bytes unless what it read has that digest. */
int bz_body_add_file_checked(bz_body *b, const char *path, int64_t size, const unsigned char *sha256);
int bz_body_add_file(bz_body *b, const char *path, int64_t size);  /* sha256 NULL */
void bz_body_free(bz_body *b);

/* Sequential reader, one per transfer (a body may be sent several times).
 * A file segment is opened only if it is (still) a regular file (stat, then open with
 * O_NONBLOCK and fstat: a FIFO swapped in fails at once instead of blocking libcurl's
 * read callback), of the validated size; for a checked segment its bytes are hashed as
 * they are read and the last ones are returned only if the digest matches validation's.
 * So a file that changed after validation is never sent whole: the transfer aborts
 * before the segment ends (and before the closing boundary). */
typedef struct bz_body_reader {
  const bz_body *b;
  size_t seg;      /* current segment */
  int64_t pos;     /* offset inside current segment */
  FILE *fp;        /* open file of current BZ_SEG_FILE segment */
  int64_t sent;    /* bytes produced so far */
  char err[160];   /* set when a file is missing, not regular, or differs from validation */
  bz_sha256 sha;   /* digest of the current file segment's bytes read so far */
} bz_body_reader;

void bz_reader_init(bz_body_reader *r, const bz_body *b);
/* Copies up to n bytes. Returns bytes copied; 0 at the end; (size_t)-1 on error (r->err set). */
size_t bz_reader_read(bz_body_reader *r, char *dst, size_t n);
void bz_reader_close(bz_body_reader *r);

/* Registers the body metatable with methods: __len / :size() -> total,
 * :content_type(), :tostring() -> whole body as a Lua string (files read now),
 * :chunks([size]) -> an iterator of the body's bytes in strings of at most size bytes
 * (default 64 KiB; files read and checked as they come; nil, message on a changed file),
 * :free() -> releases its memory and strings now (idempotent; also __gc, __close). */
void bz_body_open(lua_State *L);

#endif
