/* multipart/form-data writer; see multipart.h for the exact bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "multipart.h"

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
#include <sys/random.h>
#define BZ_HAVE_GETRANDOM 1
#endif

#define MP_OK 0
#define MP_NOMEM (-1)
#define MP_INVALID (-2)

/* ---- boundary ------------------------------------------------------------ */

static int fill_random(unsigned char *p, size_t n) {
  size_t got = 0;
  FILE *fp;
#ifdef BZ_HAVE_GETRANDOM
  while (got < n) {
    ssize_t r = getrandom(p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break; /* e.g. ENOSYS on old kernels: fall back */
    }
    got += (size_t)r;
  }
  if (got == n) return 0;
#endif
  fp = fopen("/dev/urandom", "rb");
  if (fp == NULL) return -1;
  got = fread(p, 1, n, fp);
  fclose(fp);
  return got == n ? 0 : -1;
}

int bz_mp_boundary(char out[BZ_BOUNDARY_LEN + 1]) {
  static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static const char prefix[] = "----bizreg";
  unsigned char rnd[48];
  size_t k = sizeof prefix - 1, used = sizeof rnd;

  memcpy(out, prefix, k);
  while (k < BZ_BOUNDARY_LEN) {
    unsigned v;
    if (used == sizeof rnd) {
      if (fill_random(rnd, sizeof rnd) != 0) {
        out[0] = '\0';
        return -1;
      }
      used = 0;
    }
    v = rnd[used++];
    if (v >= 248) continue; /* 248 = 4 * 62: reject to keep the mapping uniform */
    out[k++] = alnum[v % 62];
  }
  out[BZ_BOUNDARY_LEN] = '\0';
  return 0;
}

static int is_bcharnospace(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return 1;
  return c != '\0' && strchr("'()+_,-./:=?", c) != NULL;
}

int bz_mp_boundary_ok(const char *b) {
  size_t i;
  if (b == NULL || b[0] == '\0') return 0;
  for (i = 0; b[i] != '\0'; i++) {
    if (i >= 70) return 0;
    if (!is_bcharnospace((unsigned char)b[i]) && b[i] != ' ') return 0;
  }
  return b[i - 1] != ' ';
}

/* ---- transactional append -------------------------------------------------- */

typedef struct mp_mark {
  size_t mem_len, nsegs, last_len;
  int64_t total;
} mp_mark;

static void mark(const bz_body *b, mp_mark *m) {
  m->mem_len = b->mem.len;
  m->nsegs = b->nsegs;
  m->last_len = b->nsegs ? b->segs[b->nsegs - 1].len : 0;
  m->total = b->total;
}

static int rollback(bz_body *b, const mp_mark *m, int rc) {
  while (b->nsegs > m->nsegs) {
    b->nsegs--;
    free(b->segs[b->nsegs].path);
    b->segs[b->nsegs].path = NULL;
  }
  if (b->nsegs) b->segs[b->nsegs - 1].len = m->last_len;
  b->mem.len = m->mem_len;
  b->total = m->total;
  return rc;
}

static int add(bz_body *b, const char *s, size_t n) { return bz_body_add_mem(b, s, n); }
static int adds(bz_body *b, const char *s) { return bz_body_add_mem(b, s, strlen(s)); }

/* Bytes that would end or break a quoted header parameter. */
static int unsafe_in_param(char c) { return c == '"' || c == '\r' || c == '\n' || c == '\\'; }

/* Header parameter value: bytes kept, '"' CR LF '\' replaced with '_'. */
static int add_param(bz_body *b, const char *s) {
  const char *run = s;
  for (; *s; s++) {
    if (!unsafe_in_param(*s)) continue;
    if (add(b, run, (size_t)(s - run)) != 0 || add(b, "_", 1) != 0) return -1;
    run = s + 1;
  }
  return add(b, run, (size_t)(s - run));
}

/* ---- filenames ------------------------------------------------------------ */

/* Appends n bytes of s at *len (made safe for a parameter), as far as cap allows. */
static void put(char *out, size_t cap, size_t *len, const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++, (*len)++)
    if (*len + 1 < cap) out[*len] = unsafe_in_param(s[i]) ? '_' : s[i];
}

size_t bz_mp_filename(char *out, size_t cap, const char *given, const char *fallback, const char *ext) {
  const char *base = given ? strrchr(given, '/') : NULL, *dot;
  size_t len = 0, stem;
  base = base ? base + 1 : (given ? given : "");
  dot = strrchr(base, '.');
  stem = dot ? (size_t)(dot - base) : strlen(base);
  if (stem == 0) {
    base = fallback ? fallback : "file";
    stem = strlen(base);
  }
  put(out, cap, &len, base, stem);
  put(out, cap, &len, ".", 1);
  put(out, cap, &len, ext, strlen(ext));
  if (cap > 0) out[len < cap ? len : cap - 1] = '\0';
  return len;
}

/* ---- argument checks ----------------------------------------------------- */

static int ctype_ok(const char *t) {
  if (t == NULL) return 1;
  if (*t == '\0') return 0;
  for (; *t; t++) {
    unsigned char c = (unsigned char)*t;
    if ((c < 0x20 && c != '\t') || c == 0x7F) return 0;
  }
  return 1;
}

/* A delimiter is CRLF "--" boundary; be strict and also refuse a bare-LF one. */
/* "--<boundary>" at the start of d or right after a LF. Jumps between LFs with memchr:
 * in-memory files are scanned on every encode. */
static int has_delimiter(const char *d, size_t n, const char *boundary) {
  size_t bl = strlen(boundary);
  const char *p, *end;
  if (d == NULL || n < bl + 2) return 0;
  p = d;
  end = d + n;
  for (;;) {
    if ((size_t)(end - p) < bl + 2) return 0;
    if (p[0] == '-' && p[1] == '-' && memcmp(p + 2, boundary, bl) == 0) return 1;
    p = memchr(p, '\n', (size_t)(end - p));
    if (p == NULL) return 0;
    p++;
  }
}

static int check_common(const char *boundary, const char *name, const char *ctype) {
  return bz_mp_boundary_ok(boundary) && name != NULL && ctype_ok(ctype);
}

/* ---- parts ----------------------------------------------------------------- */

/* The fixed bytes of a part head, shared by part_head and bz_mp_head_len. */
static const char DISPOSITION[] = "\r\nContent-Disposition: form-data; name=\"";
static const char FILENAME[] = "; filename=\"";
static const char CTYPE[] = "Content-Type: ";

static int part_head(bz_body *b, const char *boundary, const char *name, const char *filename,
                     const char *ctype) {
  if (add(b, "--", 2) || adds(b, boundary) || adds(b, DISPOSITION) || add_param(b, name) || add(b, "\"", 1))
    return -1;
  if (filename != NULL && (adds(b, FILENAME) || add_param(b, filename) || add(b, "\"", 1)))
    return -1;
  if (add(b, "\r\n", 2)) return -1;
  if (ctype != NULL && (adds(b, CTYPE) || adds(b, ctype) || add(b, "\r\n", 2)))
    return -1;
  return add(b, "\r\n", 2);
}

/* What part_head writes, counted: parameters keep their length (bytes are replaced 1:1). */
size_t bz_mp_head_len(const char *boundary, const char *name, int has_filename, size_t filename_len,
                      const char *ctype) {
  size_t n = 2 + strlen(boundary) + (sizeof DISPOSITION - 1) + strlen(name) + 1;
  if (has_filename) n += (sizeof FILENAME - 1) + filename_len + 1;
  n += 2;
  if (ctype != NULL) n += (sizeof CTYPE - 1) + strlen(ctype) + 2;
  return n + 2;
}

/* anchor < 0: data is copied into the body; else it becomes a BZ_SEG_REF segment
 * (bz_body_add_ref) and must outlive the body. */
static int part_mem(bz_body *b, const char *boundary, const char *name, const char *filename,
                    const char *ctype, const char *data, size_t len, int anchor) {
  mp_mark m;
  if (b == NULL || !check_common(boundary, name, ctype) || (data == NULL && len > 0) ||
      has_delimiter(data, len, boundary))
    return MP_INVALID;
  mark(b, &m);
  if (part_head(b, boundary, name, filename, ctype) ||
      (anchor < 0 ? add(b, data, len) : bz_body_add_ref(b, data, len, anchor)) || add(b, "\r\n", 2))
    return rollback(b, &m, MP_NOMEM);
  return MP_OK;
}

int bz_mp_field(bz_body *b, const char *boundary, const char *name, const char *ctype,
                const char *data, size_t len) {
  return part_mem(b, boundary, name, NULL, ctype, data, len, -1);
}

int bz_mp_file_ref(bz_body *b, const char *boundary, const char *name, const char *filename,
                   const char *ctype, const char *data, size_t len, int anchor) {
  return part_mem(b, boundary, name, filename, ctype, data, len, anchor < 0 ? 0 : anchor);
}

size_t bz_mp_finish_len(const char *boundary) { return 2 + strlen(boundary) + 4; }

int bz_mp_file_path_checked(bz_body *b, const char *boundary, const char *name, const char *filename,
                            const char *ctype, const char *path, int64_t size, const unsigned char *key,
                            const unsigned char *tag) {
  mp_mark m;
  if (b == NULL || !check_common(boundary, name, ctype) || path == NULL || size < 0)
    return MP_INVALID;
  mark(b, &m);
  if (part_head(b, boundary, name, filename, ctype) || bz_body_add_file_checked(b, path, size, key, tag) ||
      add(b, "\r\n", 2))
    return rollback(b, &m, MP_NOMEM);
  return MP_OK;
}

int bz_mp_finish(bz_body *b, const char *boundary) {
  static const char prefix[] = "multipart/form-data; boundary=";
  char ct[sizeof b->content_type];
  const char *q;
  mp_mark m;
  int n;
  if (b == NULL || !bz_mp_boundary_ok(boundary)) return MP_INVALID;
  q = strpbrk(boundary, "()<>@,;:\\\"/[]?= ") ? "\"" : "";
  n = snprintf(ct, sizeof ct, "%s%s%s%s", prefix, q, boundary, q);
  if (n < 0 || (size_t)n >= sizeof ct) return MP_INVALID;
  mark(b, &m);
  if (add(b, "--", 2) || adds(b, boundary) || add(b, "--\r\n", 4)) return rollback(b, &m, MP_NOMEM);
  memcpy(b->content_type, ct, (size_t)n + 1);
  return MP_OK;
}
