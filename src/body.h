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

/* SHA-256 (OpenSSL's libcrypto, EVP, with the CPU's SHA instructions where there are
 * some): the one SHA-256 of the C core (core.sha256; token_store's keys). */
#define BZ_SHA256_LEN 32
struct evp_md_ctx_st;  /* OpenSSL's EVP_MD_CTX */
/* One call: the digest of n bytes at p. 0, or -1 (out of memory). */
int bz_sha256_digest(const void *p, size_t n, unsigned char out[BZ_SHA256_LEN]);

/* A file's fingerprint, to prove the bytes sent are the bytes validation judged:
 * Poly1305 (libcrypto) under a key of 32 random bytes drawn for that one file at
 * validation, recorded while validation reads the file (bz_filemac_feed is a
 * bz_media_feed) and computed again while the reader streams it. The key never leaves
 * the process, so whoever rewrites the file cannot aim at a collision: two different
 * contents of n bytes get the same tag with probability at most 8*ceil(n/16)/2^106
 * (under 2^-83 for 20 MiB), whatever they are. It costs ~0.2 ms per MiB against
 * SHA-256's ~0.75 (BENCHMARKS.md). A context owns an EVP_MD_CTX from init until final
 * or free; init and final return 0, or -1 (out of memory, or an update failed). */
#define BZ_FILEMAC_KEY_LEN 32
#define BZ_FILEMAC_LEN 16
typedef struct bz_filemac {
  struct evp_md_ctx_st *md;
  int failed;
} bz_filemac;
/* Draws a fresh key: 0, or -1 when libcrypto's generator fails. */
int bz_filemac_key(unsigned char key[BZ_FILEMAC_KEY_LEN]);
int bz_filemac_init(bz_filemac *c, const unsigned char key[BZ_FILEMAC_KEY_LEN]);
int bz_filemac_final(bz_filemac *c, unsigned char out[BZ_FILEMAC_LEN]);
void bz_filemac_free(bz_filemac *c);
void bz_filemac_feed(void *ctx, const unsigned char *p, size_t n);  /* ctx: a bz_filemac */

typedef struct bz_seg {
  bz_seg_kind kind;
  size_t off, len;  /* BZ_SEG_MEM: byte range inside body->mem; BZ_SEG_REF: len */
  const char *ref;  /* BZ_SEG_REF: bytes the body does not own (see bz_body_add_ref) */
  int anchor;       /* BZ_SEG_REF: index of their string in the anchor table, 0: none */
  char *path;       /* BZ_SEG_FILE: malloc'd path */
  int64_t size;     /* BZ_SEG_FILE: size seen at validation; the file must still have it */
  int checked;      /* BZ_SEG_FILE: tag is the fingerprint of the validated bytes under key */
  unsigned char key[BZ_FILEMAC_KEY_LEN];
  unsigned char tag[BZ_FILEMAC_LEN];
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
/* Append a file segment of the given size. 0 ok, -1 out of memory. key and tag (NULL:
 * size check only) are the fingerprint key drawn at validation and the fingerprint of
 * the file's bytes then: the reader withholds the segment's last bytes unless what it
 * read has that fingerprint. */
int bz_body_add_file_checked(bz_body *b, const char *path, int64_t size, const unsigned char *key,
                             const unsigned char *tag);
void bz_body_free(bz_body *b);

/* Sequential reader, one per transfer (a body may be sent several times).
 * A file segment is opened only if it is (still) a regular file (stat, then open with
 * O_NONBLOCK and fstat: a FIFO swapped in fails at once instead of blocking libcurl's
 * read callback), of the validated size; for a checked segment its bytes are fingerprinted
 * as they are read and the last ones are returned only if the tag matches validation's.
 * So a file that changed after validation is never sent whole: the transfer aborts
 * before the segment ends (and before the closing boundary). */
typedef struct bz_body_reader {
  const bz_body *b;
  size_t seg;      /* current segment */
  int64_t pos;     /* offset inside current segment */
  FILE *fp;        /* open file of current BZ_SEG_FILE segment */
  int64_t sent;    /* bytes produced so far */
  char err[160];   /* set when a file is missing, not regular, or differs from validation */
  bz_filemac mac;  /* fingerprint of the current file segment's bytes read so far */
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
