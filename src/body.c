/* Request body made of memory, string and file segments (see body.h): building and
 * reading, all non-raising C. The Lua side (userdata, methods) is body_lua.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "body.h"

/* ---- SHA-256 and the file fingerprint (libcrypto) ------------------------ */

int bz_sha256_digest(const void *p, size_t n, unsigned char out[BZ_SHA256_LEN]) {
  unsigned int len = 0;
  return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == BZ_SHA256_LEN ? 0 : -1;
}

int bz_filemac_key(unsigned char key[BZ_FILEMAC_KEY_LEN]) {
  return RAND_bytes(key, BZ_FILEMAC_KEY_LEN) == 1 ? 0 : -1;
}

/* EVP_PKEY_POLY1305 through DigestSign: the same calls on OpenSSL 1.1.1 and 3.x. */
int bz_filemac_init(bz_filemac *c, const unsigned char key[BZ_FILEMAC_KEY_LEN]) {
  EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_POLY1305, NULL, key, BZ_FILEMAC_KEY_LEN);
  int ok;
  c->failed = 0;
  c->md = k != NULL ? EVP_MD_CTX_new() : NULL;
  ok = c->md != NULL && EVP_DigestSignInit(c->md, NULL, NULL, NULL, k) == 1;
  EVP_PKEY_free(k);  /* the context holds its own reference */
  if (ok) return 0;
  bz_filemac_free(c);
  return -1;
}

static void filemac_update(bz_filemac *c, const void *p, size_t n) {
  if (c->md == NULL || EVP_DigestSignUpdate(c->md, p, n) != 1) c->failed = 1;
}

int bz_filemac_final(bz_filemac *c, unsigned char out[BZ_FILEMAC_LEN]) {
  size_t len = BZ_FILEMAC_LEN;
  int ok = c->md != NULL && !c->failed && EVP_DigestSignFinal(c->md, out, &len) == 1 && len == BZ_FILEMAC_LEN;
  bz_filemac_free(c);
  return ok ? 0 : -1;
}

void bz_filemac_free(bz_filemac *c) {
  EVP_MD_CTX_free(c->md);  /* NULL is a no-op */
  c->md = NULL;
}

void bz_filemac_feed(void *ctx, const unsigned char *p, size_t n) { filemac_update((bz_filemac *)ctx, p, n); }

/* ---- building ------------------------------------------------------------ */

static int seg_reserve(bz_body *b) {
  size_t ncap;
  bz_seg *ns;
  if (b->nsegs < b->cap) return 0;
  ncap = b->cap ? b->cap * 2 : 8;
  if (ncap < b->cap || ncap > ((size_t)-1) / sizeof *ns) return -1;
  ns = (bz_seg *)realloc(b->segs, ncap * sizeof *ns);
  if (ns == NULL) return -1;
  b->segs = ns;
  b->cap = ncap;
  return 0;
}

int bz_body_add_mem(bz_body *b, const void *p, size_t n) {
  bz_seg *last;
  if (n == 0) return 0;
  if (p == NULL) return -1;
  if ((uint64_t)n > (uint64_t)(INT64_MAX - b->total)) return -1;
  last = b->nsegs ? &b->segs[b->nsegs - 1] : NULL;
  if (last != NULL && last->kind == BZ_SEG_MEM && last->off + last->len == b->mem.len) {
    if (bz_buf_append(&b->mem, p, n) != 0) return -1;
    last->len += n;
  } else {
    bz_seg *s;
    size_t off = b->mem.len;
    if (seg_reserve(b) != 0) return -1;
    if (bz_buf_append(&b->mem, p, n) != 0) return -1;
    s = &b->segs[b->nsegs++];
    memset(s, 0, sizeof *s);
    s->kind = BZ_SEG_MEM;
    s->off = off;
    s->len = n;
  }
  b->total += (int64_t)n;
  return 0;
}

int bz_body_reserve_mem(bz_body *b, size_t n) {
  char *np;
  if (n > (size_t)-1 - b->mem.len) return -1;
  if (b->mem.len + n <= b->mem.cap) return 0;
  np = (char *)realloc(b->mem.p, b->mem.len + n);
  if (np == NULL) return -1;
  b->mem.p = np;
  b->mem.cap = b->mem.len + n;
  return 0;
}

int bz_body_add_ref(bz_body *b, const char *p, size_t n, int anchor) {
  bz_seg *s;
  if (n == 0) return 0;
  if (p == NULL) return -1;
  if ((uint64_t)n > (uint64_t)(INT64_MAX - b->total)) return -1;
  if (seg_reserve(b) != 0) return -1;
  s = &b->segs[b->nsegs++];
  memset(s, 0, sizeof *s);
  s->kind = BZ_SEG_REF;
  s->ref = p;
  s->len = n;
  s->anchor = anchor;
  b->total += (int64_t)n;
  return 0;
}

int bz_body_add_file_checked(bz_body *b, const char *path, int64_t size, const unsigned char *key,
                             const unsigned char *tag) {
  bz_seg *s;
  char *copy;
  size_t plen;
  if (path == NULL || size < 0 || size > INT64_MAX - b->total) return -1;
  if (seg_reserve(b) != 0) return -1;
  plen = strlen(path);
  copy = (char *)malloc(plen + 1);
  if (copy == NULL) return -1;
  memcpy(copy, path, plen + 1);
  s = &b->segs[b->nsegs++];
  memset(s, 0, sizeof *s);
  s->kind = BZ_SEG_FILE;
  s->path = copy;
  s->size = size;
  s->checked = key != NULL && tag != NULL;
  if (s->checked) {
    memcpy(s->key, key, BZ_FILEMAC_KEY_LEN);
    memcpy(s->tag, tag, BZ_FILEMAC_LEN);
  }
  b->total += size;
  return 0;
}

void bz_body_free(bz_body *b) {
  size_t i;
  if (b == NULL) return;
  for (i = 0; i < b->nsegs; i++) free(b->segs[i].path);
  free(b->segs);
  b->segs = NULL;
  b->nsegs = b->cap = 0;
  bz_buf_free(&b->mem);
  b->total = 0;
}  /* the anchored strings go with the userdata, or with :free() (body_lua.c) */

/* ---- reading ------------------------------------------------------------- */

void bz_reader_init(bz_body_reader *r, const bz_body *b) {
  memset(r, 0, sizeof *r);
  r->b = b;
}

void bz_reader_close(bz_body_reader *r) {
  if (r->fp != NULL) fclose(r->fp);
  r->fp = NULL;
  bz_filemac_free(&r->mac);
}

static size_t reader_fail(bz_body_reader *r) {
  bz_reader_close(r);
  return (size_t)-1;
}

static int open_fail(bz_body_reader *r, const bz_seg *s, int fd, const char *what) {
  snprintf(r->err, sizeof r->err, "cannot open %s: %s", s->path, what);
  if (fd >= 0) close(fd);
  return -1;
}

/* Opens the file of segment s: a regular file (stat first, so a FIFO or device is never
 * opened; then O_NONBLOCK + fstat, as the path may have been swapped) of the size seen
 * at validation. Runs inside libcurl's read callback: nothing here may block. */
static int reader_open(bz_body_reader *r, const bz_seg *s) {
  struct stat st;
  int fd = -1, fl;
  errno = 0;
  if (stat(s->path, &st) == 0 && S_ISREG(st.st_mode))
    fd = open(s->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  else if (errno == 0)
    return open_fail(r, s, -1, "not a regular file");
  if (fd < 0 || fstat(fd, &st) != 0) return open_fail(r, s, fd, strerror(errno ? errno : EIO));
  if (!S_ISREG(st.st_mode)) return open_fail(r, s, fd, "not a regular file");
  if ((int64_t)st.st_size != s->size) {
    snprintf(r->err, sizeof r->err, "file %s changed size since validation (%lld bytes, now %lld)",
             s->path, (long long)s->size, (long long)st.st_size);
    close(fd);
    return -1;
  }
  if ((fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
      (r->fp = fdopen(fd, "rb")) == NULL)
    return open_fail(r, s, fd, strerror(errno ? errno : EIO));
  if (s->checked && bz_filemac_init(&r->mac, s->key) != 0) {
    snprintf(r->err, sizeof r->err, "cannot check %s: out of memory", s->path);
    return -1;  /* the caller's reader_fail closes r->fp */
  }
  return 0;
}

/* Segment s has been read to its recorded size: the file must end here. */
static int reader_check_end(bz_body_reader *r, const bz_seg *s) {
  int c;
  errno = 0;
  c = fgetc(r->fp);
  if (c != EOF) {
    snprintf(r->err, sizeof r->err, "file %s has grown since validation (%lld bytes)", s->path,
             (long long)s->size);
    return -1;
  }
  if (ferror(r->fp)) {
    snprintf(r->err, sizeof r->err, "cannot read %s: %s", s->path, strerror(errno ? errno : EIO));
    return -1;
  }
  if (s->checked) {
    unsigned char d[BZ_FILEMAC_LEN];
    if (bz_filemac_final(&r->mac, d) != 0) {
      snprintf(r->err, sizeof r->err, "cannot check %s: the fingerprint failed", s->path);
      return -1;
    }
    if (memcmp(d, s->tag, sizeof d) != 0) {
      snprintf(r->err, sizeof r->err, "file %s changed since validation (same size, other bytes)", s->path);
      return -1;
    }
  }
  bz_reader_close(r);
  return 0;
}

size_t bz_reader_read(bz_body_reader *r, char *dst, size_t n) {
  const bz_body *b = r->b;
  size_t out = 0;
  if (r->err[0] != '\0') return (size_t)-1;
  if (b == NULL) return 0;
  if (n == (size_t)-1) n--; /* keep the error value out of the result range */
  while (out < n && r->seg < b->nsegs) {
    const bz_seg *s = &b->segs[r->seg];
    if (s->kind != BZ_SEG_FILE) {
      const char *src = s->kind == BZ_SEG_REF ? s->ref : b->mem.p + s->off;
      size_t avail = s->len - (size_t)r->pos, take = n - out;
      if (take > avail) take = avail;
      if (take > 0) memcpy(dst + out, src + (size_t)r->pos, take);
      out += take;
      r->pos += (int64_t)take;
      if ((size_t)r->pos >= s->len) {
        r->seg++;
        r->pos = 0;
      }
    } else {
      uint64_t left;
      size_t want, got;
      if (r->fp == NULL && reader_open(r, s) != 0) return reader_fail(r);
      left = (uint64_t)(s->size - r->pos);
      want = n - out;
      if ((uint64_t)want > left) want = (size_t)left;
      if (want > 0) {
        errno = 0;
        got = fread(dst + out, 1, want, r->fp);
        if (got < want) {
          if (ferror(r->fp))
            snprintf(r->err, sizeof r->err, "cannot read %s: %s", s->path,
                     strerror(errno ? errno : EIO));
          else
            snprintf(r->err, sizeof r->err, "file %s is shorter than at validation (%lld bytes)",
                     s->path, (long long)s->size);
          return reader_fail(r);
        }
        if (s->checked) filemac_update(&r->mac, dst + out, got);
        out += got;
        r->pos += (int64_t)got;
      }
      if (r->pos >= s->size) {
        if (reader_check_end(r, s) != 0) return reader_fail(r);
        r->seg++;
        r->pos = 0;
      }
    }
  }
  r->sent += (int64_t)out;
  return out;
}
