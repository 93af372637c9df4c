/* libFuzzer harness for the multipart writer (src/multipart.c) and the body reader
 * (src/body.c): input bytes choose a boundary, parts (plain fields, in-memory files,
 * files on disk in temp files) with fuzzed names, filenames, content types and data,
 * optionally a change to one file after the body was built, then a read plan: chunk
 * sizes and rewinds (bz_reader_close + bz_reader_init, what a resend would do).
 *
 * Checked against a rendering written here from multipart.h's byte-exact description:
 * every writer's return code (0 / -2) and the body bytes (name/filename: "\"" CR LF "\\"
 * become "_", nothing percent-encoded); bz_mp_filename (stem + detected extension) with every
 * cap; bz_mp_boundary_ok; a failed call leaves the body
 * as it was; the reader yields exactly the reference bytes in any chunking and after
 * any rewind, never more than body.total, 0 at the end; a file that changed size or
 * disappeared makes it fail (sticky (size_t)-1 with an error text) and never yields a
 * byte past what it may; a same-size change either fails or yields the new bytes.
 *   make fuzz-multipart FUZZ_SECONDS=60 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "multipart.h"

/* A failed check names its line (the comment there says what was expected), then aborts. */
#define FAIL() (fprintf(stderr, "check failed at %s:%d\n", __FILE__, __LINE__), abort())

typedef struct { const uint8_t *p, *end; } src;
static unsigned next(src *s) { return s->p < s->end ? *s->p++ : 0; }

/* A NUL-terminated string of up to max fuzzed bytes (NULs inside cut it, as C does). */
static char *take_str(src *s, size_t max, char *buf) {
  size_t n = next(s) % (max + 1), i;
  for (i = 0; i < n; i++) buf[i] = (char)next(s);
  buf[n] = '\0';
  return buf;
}

typedef struct { char *p; size_t len, cap; } vec;
static void put(vec *v, const void *s, size_t n) {
  if (v->len + n + 1 > v->cap) {
    v->cap = (v->len + n + 1) * 2;
    v->p = (char *)realloc(v->p, v->cap);
    if (v->p == NULL) FAIL();
  }
  memcpy(v->p + v->len, s, n);
  v->len += n;
}
static void puts_(vec *v, const char *s) { put(v, s, strlen(s)); }

/* ---- reference rules (from multipart.h) ------------------------------------ */

static int ref_boundary_ok(const char *b) {
  size_t n = strlen(b), i;
  if (n < 1 || n > 70 || b[n - 1] == ' ') return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)b[i];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || strchr("'()+_,-./:=? ", c)))
      return 0;
  }
  return 1;
}
static int ref_ctype_ok(const char *t) {
  if (t == NULL) return 1;
  if (*t == '\0') return 0;
  for (; *t; t++) if (((unsigned char)*t < 0x20 && *t != '\t') || *t == 0x7f) return 0;
  return 1;
}
static int ref_has_delim(const char *d, size_t n, const char *b) {
  size_t bl = strlen(b), i;
  for (i = 0; i + bl + 2 <= n; i++)
    if ((i == 0 || d[i - 1] == '\n') && d[i] == '-' && d[i + 1] == '-' && memcmp(d + i + 2, b, bl) == 0) return 1;
  return 0;
}
/* multipart.h: bytes kept, '"' CR LF '\\' become '_', nothing percent-encoded. */
static char ref_safe(char c) { return c == '"' || c == '\r' || c == '\n' || c == '\\' ? '_' : c; }
static void ref_param(vec *v, const char *s) {
  for (; *s; s++) { char c = ref_safe(*s); put(v, &c, 1); }
}
/* bz_mp_filename (multipart.h, README "file names sent"): stem of the last '/'
 * component (before its last '.'), or fallback ("file" if NULL) when empty; "." ext. */
static void ref_filename(vec *v, const char *given, const char *fallback, const char *ext) {
  const char *base = given ? strrchr(given, '/') : NULL, *dot;
  size_t stem, i;
  base = base ? base + 1 : (given ? given : "");
  dot = strrchr(base, '.');
  stem = dot ? (size_t)(dot - base) : strlen(base);
  if (stem == 0) { base = fallback ? fallback : "file"; stem = strlen(base); }
  for (i = 0; i < stem; i++) { char c = ref_safe(base[i]); put(v, &c, 1); }
  puts_(v, ".");
  for (; *ext; ext++) { char c = ref_safe(*ext); put(v, &c, 1); }
}
/* bz_mp_filename against the reference, with every cap from 0 to past the end. */
static void check_filename(const char *given, const char *fallback, const char *ext) {
  vec want = { NULL, 0, 0 };
  char out[160];
  size_t cap, n;
  ref_filename(&want, given, fallback, ext);
  for (cap = 0; cap <= want.len + 1 && cap <= sizeof out; cap++) {
    memset(out, 0x7f, sizeof out);
    n = bz_mp_filename(cap ? out : NULL, cap, given, fallback, ext);
    if (n != want.len) FAIL();                                  /* length of the whole name */
    if (cap == 0) continue;
    if (strlen(out) != (n < cap ? n : cap - 1)) FAIL();         /* NUL-terminated at the cut */
    if (memcmp(out, want.p, strlen(out)) != 0) FAIL();          /* the documented bytes */
    if (cap < sizeof out && out[cap] != 0x7f) FAIL();           /* wrote past cap */
  }
  free(want.p);
}
static void ref_head(vec *v, const char *b, const char *name, const char *fn, const char *ct) {
  puts_(v, "--"); puts_(v, b); puts_(v, "\r\nContent-Disposition: form-data; name=\""); ref_param(v, name); puts_(v, "\"");
  if (fn) { puts_(v, "; filename=\""); ref_param(v, fn); puts_(v, "\""); }
  puts_(v, "\r\n");
  if (ct) { puts_(v, "Content-Type: "); puts_(v, ct); puts_(v, "\r\n"); }
  puts_(v, "\r\n");
}

/* ---- files ----------------------------------------------------------------- */

#define MAX_FILES 8
typedef struct { char path[64]; size_t ref_off, len; } tfile;

static int make_file(tfile *f, const char *data, size_t n) {
  int fd;
  snprintf(f->path, sizeof f->path, "/tmp/bz_mp_fuzz.XXXXXX");
  fd = mkstemp(f->path);
  if (fd < 0) return -1;
  if (n > 0 && write(fd, data, n) != (ssize_t)n) { close(fd); unlink(f->path); return -1; }
  close(fd);
  return 0;
}

static void rewrite(const char *path, const char *data, size_t n) {
  FILE *fp = fopen(path, "wb");
  if (fp == NULL) FAIL();
  if (n > 0 && fwrite(data, 1, n, fp) != n) FAIL();
  fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  src s = { data, data + size };
  bz_body body;
  vec ref = { NULL, 0, 0 };
  tfile files[MAX_FILES];
  char bnd_buf[96], name[40], fn[40], ct[40], *bnd = bnd_buf;
  int nfiles = 0, nparts, i, change, change_file, fail_at = -1;
  size_t same_end = 0;  /* a same-size change may fail the read, but only up to that file's end */
  size_t pos = 0, guard;
  bz_body_reader r;
  char buf[4096];

  memset(&body, 0, sizeof body);
  switch (next(&s) % 3) {
    case 0: strcpy(bnd_buf, "fuzz-boundary"); break;
    case 1: if (bz_mp_boundary(bnd_buf) != 0 || !ref_boundary_ok(bnd_buf) || strlen(bnd_buf) != BZ_BOUNDARY_LEN) FAIL(); break;
    default: take_str(&s, 80, bnd_buf);
  }
  if (bz_mp_boundary_ok(bnd) != ref_boundary_ok(bnd)) FAIL();  /* the RFC 2046 rule */
  nparts = (int)(next(&s) % 8);
  for (i = 0; i < nparts; i++) {
    unsigned kind = next(&s) % 3, flags = next(&s);
    const char *nm = (flags & 1) ? NULL : take_str(&s, 30, name);
    const char *f = (flags & 2) ? take_str(&s, 30, fn) : NULL;
    const char *c = (flags & 4) ? ((flags & 8) ? "image/png" : take_str(&s, 30, ct)) : NULL;
    size_t n = (next(&s) << 4 | next(&s)) % 4096, avail = (size_t)(s.end - s.p), want, old_total = (size_t)body.total;
    int rc, exp;
    const char *d;
    if (n > avail) n = avail;
    if (kind > 0) {  /* the name a file part is sent with: its filename, the part name, the type's ext */
      static const char *exts[] = { "png", "jpg", "pdf", "tif", "zip", "a\"b", "", "\r\n" };
      check_filename(f, (flags & 16) ? NULL : nm, exts[flags >> 5]);
    }
    d = (const char *)s.p;
    s.p += n;
    exp = ref_boundary_ok(bnd) && nm != NULL && ref_ctype_ok(c) ? 0 : -2;
    if (kind < 2) {
      if (exp == 0 && ref_has_delim(d, n, bnd)) exp = -2;
      if (kind == 0) rc = bz_mp_field(&body, bnd, nm, c, d, n);
      else rc = bz_mp_file_ref(&body, bnd, nm, f, c, d, n, 0);  /* d: the input, alive */
      if (rc == 0) { ref_head(&ref, bnd, nm, kind == 0 ? NULL : f, c); put(&ref, d, n); puts_(&ref, "\r\n"); }
    } else {
      if (nfiles == MAX_FILES || make_file(&files[nfiles], d, n) != 0) continue;
      rc = bz_mp_file_path_checked(&body, bnd, nm, f, c, files[nfiles].path, (int64_t)n, NULL, NULL);
      if (rc == 0) {
        ref_head(&ref, bnd, nm, f, c);
        files[nfiles].ref_off = ref.len;
        files[nfiles].len = n;
        put(&ref, d, n);
        puts_(&ref, "\r\n");
      }
      nfiles++;
      if (rc != 0) { unlink(files[nfiles - 1].path); nfiles--; }
    }
    if (rc != exp) FAIL();                                /* return code differs from the contract */
    want = rc == 0 ? ref.len : old_total;
    if ((size_t)body.total != want || (size_t)body.total != ref.len) FAIL();  /* failed call changed the body */
  }
  if (next(&s) % 4 != 0) {
    int rc = bz_mp_finish(&body, bnd), exp = ref_boundary_ok(bnd) ? 0 : -2;
    if (rc != exp) FAIL();
    if (rc == 0) {
      char want[160];
      const char *q = strpbrk(bnd, "()<>@,;:\\\"/[]?= ") ? "\"" : "";
      puts_(&ref, "--"); puts_(&ref, bnd); puts_(&ref, "--\r\n");
      snprintf(want, sizeof want, "multipart/form-data; boundary=%s%s%s", q, bnd, q);
      if (strcmp(want, body.content_type) != 0) FAIL();
    }
  }
  if ((size_t)body.total != ref.len) FAIL();

  /* One file may change after the body was built. */
  change = (int)(next(&s) % 6);
  change_file = nfiles ? (int)(next(&s) % (unsigned)nfiles) : -1;
  if (change_file >= 0 && change != 0) {
    tfile *t = &files[change_file];
    char *copy = (char *)malloc(t->len + 2);
    memcpy(copy, ref.p + t->ref_off, t->len);
    if (change == 1) { copy[t->len] = 'x'; rewrite(t->path, copy, t->len + 1); fail_at = (int)t->ref_off; }
    else if (change == 2 && t->len > 0) { rewrite(t->path, copy, t->len - 1); fail_at = (int)t->ref_off; }
    else if (change == 3 && t->len > 0) {  /* same size, other bytes: the reference follows */
      size_t k;
      for (k = 0; k < t->len; k++) copy[k] = (char)(copy[k] ^ 0x5A);
      rewrite(t->path, copy, t->len);
      memcpy(ref.p + t->ref_off, copy, t->len);
      same_end = t->ref_off + t->len;
    } else if (change == 4) { unlink(t->path); fail_at = (int)t->ref_off; }
    free(copy);
  }

  /* Read plan: chunk sizes, rewinds. */
  bz_reader_init(&r, &body);
  for (guard = 0; guard < 100000; guard++) {
    unsigned op = next(&s);
    size_t want = op < 32 ? 1 + op : (op < 240 ? 1 + (size_t)op * 17 % sizeof buf : sizeof buf), got;
    if (op == 255 || (op == 254 && pos > 0)) {  /* rewind */
      bz_reader_close(&r);
      bz_reader_init(&r, &body);
      pos = 0;
      continue;
    }
    got = bz_reader_read(&r, buf, want);
    if (got == (size_t)-1) {
      if (r.err[0] == '\0') FAIL();                         /* an error without a reason */
      if (fail_at < 0 && (same_end == 0 || pos > same_end)) FAIL();  /* failed on an unchanged body */
      if (fail_at >= 0 && pos > (size_t)fail_at) FAIL();    /* read past the changed file first */
      if (bz_reader_read(&r, buf, 1) != (size_t)-1) FAIL(); /* errors are sticky */
      break;
    }
    if (got > want || pos + got > ref.len) FAIL();          /* more than asked / than the body holds */
    if (got > 0 && memcmp(buf, ref.p + pos, got) != 0) FAIL();
    pos += got;
    if (got == 0) {
      if (pos != ref.len) FAIL();                           /* ended early */
      if (fail_at >= 0) FAIL();                             /* a changed size went unnoticed */
      break;
    }
  }
  bz_reader_close(&r);
  bz_reader_close(&r);  /* idempotent */
  for (i = 0; i < nfiles; i++) unlink(files[i].path);
  bz_body_free(&body);
  bz_body_free(&body);  /* idempotent */
  free(ref.p);
  return 0;
}
