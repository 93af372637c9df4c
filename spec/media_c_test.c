/* Plain C tests for src/media.c, src/multipart.c and src/body.c (no test framework).
 * Build and run (from the repository root), with ASan + UBSan:
 *
 *   mkdir -p build && cc -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Wshadow -Wno-unused-parameter -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -Isrc $(pkg-config --cflags lua5.4) spec/media_c_test.c src/media.c src/multipart.c src/body.c src/buf.c -o build/media_c_test $(pkg-config --libs lua5.4) && build/media_c_test
 *
 * Exit status 0 when every check passes; each failure prints file:line.
 * All fixtures are generated here; temporary files live in a mkdtemp() directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include "body.h"
#include "buf.h"
#include "media.h"
#include "multipart.h"

static int checks, failures;

#define CHECK(c)                                                       \
  do {                                                                 \
    checks++;                                                          \
    if (!(c)) {                                                        \
      failures++;                                                      \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
    }                                                                  \
  } while (0)

static char tmpdir[64];

/* ---- small helpers ------------------------------------------------------- */

static void must(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fatal: %s\n", what);
    exit(2);
  }
}

static void put(bz_buf *b, const void *p, size_t n) { must(bz_buf_append(b, p, n) == 0, "oom"); }
static void puts_(bz_buf *b, const char *s) { put(b, s, strlen(s)); }
static void put8(bz_buf *b, unsigned v) {
  unsigned char c = (unsigned char)v;
  put(b, &c, 1);
}
static void put16(bz_buf *b, unsigned v) {
  put8(b, v >> 8);
  put8(b, v);
}
static void put32(bz_buf *b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xFFFF);
}

static void path_in_tmp(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *fp = fopen(path, "wb");
  must(fp != NULL, "fopen for write");
  must(fwrite(p, 1, n, fp) == n, "fwrite");
  must(fclose(fp) == 0, "fclose");
}

static void append_file(const char *path, const char *s) {
  FILE *fp = fopen(path, "ab");
  must(fp != NULL, "fopen for append");
  must(fputs(s, fp) >= 0, "fputs");
  must(fclose(fp) == 0, "fclose");
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  size_t i;
  int k;
  for (i = 0; i < n; i++) {
    c ^= p[i];
    for (k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

static void png_chunk(bz_buf *b, const char *type, const unsigned char *data, uint32_t len) {
  size_t start;
  put32(b, len);
  start = b->len;
  put(b, type, 4);
  if (len) put(b, data, len);
  put32(b, crc32_of((const unsigned char *)b->p + start, b->len - start));
}

/* Signature, IHDR (8-bit RGBA), a tiny IDAT, IEND. */
static void make_png(bz_buf *b, uint32_t w, uint32_t h) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  static const unsigned char idat[] = {0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01};
  unsigned char ihdr[13];
  ihdr[0] = (unsigned char)(w >> 24);
  ihdr[1] = (unsigned char)(w >> 16);
  ihdr[2] = (unsigned char)(w >> 8);
  ihdr[3] = (unsigned char)w;
  ihdr[4] = (unsigned char)(h >> 24);
  ihdr[5] = (unsigned char)(h >> 16);
  ihdr[6] = (unsigned char)(h >> 8);
  ihdr[7] = (unsigned char)h;
  ihdr[8] = 8;  /* bit depth */
  ihdr[9] = 6;  /* RGBA */
  ihdr[10] = ihdr[11] = ihdr[12] = 0;
  put(b, sig, 8);
  png_chunk(b, "IHDR", ihdr, 13);
  png_chunk(b, "IDAT", idat, sizeof idat);
  png_chunk(b, "IEND", NULL, 0);
}

typedef struct jpeg_opts {
  unsigned sof;          /* 0xC0 baseline, 0xC2 progressive, ... */
  unsigned w, h;
  size_t app1_bytes;     /* total APP1 payload before SOF, split in <= 65533-byte segments */
  int dht_before_sof;    /* a DHT (C4) whose bytes look like dimensions */
  int fill_and_rst;      /* fill bytes before the SOF marker and a standalone RST marker */
} jpeg_opts;

/* Builds a structurally valid JPEG stream; *sof_at = offset of the SOF's 0xFF. */
static void make_jpeg(bz_buf *b, const jpeg_opts *o, size_t *sof_at) {
  static const unsigned char jfif[] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
  size_t left = o->app1_bytes, i;
  put16(b, 0xFFD8);
  put16(b, 0xFFE0);
  put16(b, 2 + sizeof jfif);
  put(b, jfif, sizeof jfif);
  while (left > 0) {
    size_t seg = left > 65533 ? 65533 : left;
    put16(b, 0xFFE1);
    put16(b, (unsigned)(seg + 2));
    for (i = 0; i < seg; i++) {
      /* Payload full of things that look like markers: fake SOF0 with 16x16,
       * SOS, EOI, fill bytes. A walker that scans instead of skipping fails. */
      static const unsigned char fake[] = {0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00,
                                           0x10, 0xFF, 0xDA, 0xFF, 0xD9, 0xFF, 0xFF, 0x00};
      put8(b, i < 6 && i < seg ? "Exif\0\0"[i] : fake[i % sizeof fake]);
    }
    left -= seg;
  }
  put16(b, 0xFFDB); /* DQT */
  put16(b, 67);
  put8(b, 0);
  for (i = 0; i < 64; i++) put8(b, 1);
  if (o->dht_before_sof) {
    put16(b, 0xFFC4);
    put16(b, 2 + 1 + 16 + 1);
    put8(b, 0x00);
    put8(b, 0x08);
    put16(b, 0x0777); /* would read as height 0x0777 if C4 were taken for SOF */
    put16(b, 0x0888);
    for (i = 5; i < 16; i++) put8(b, i == 15 ? 1 : 0);
    put8(b, 0x00);
  }
  if (o->fill_and_rst) {
    put16(b, 0xFFD3); /* standalone, no length */
    put8(b, 0xFF);
    put8(b, 0xFF);
    put8(b, 0xFF);
  }
  *sof_at = b->len;
  put8(b, 0xFF);
  put8(b, o->sof);
  put16(b, 8 + 3 * 3);
  put8(b, 8);
  put16(b, o->h);
  put16(b, o->w);
  put8(b, 3);
  for (i = 1; i <= 3; i++) {
    put8(b, (unsigned)i);
    put8(b, 0x11);
    put8(b, 0);
  }
  put16(b, 0xFFDA); /* SOS */
  put16(b, 12);
  put8(b, 3);
  for (i = 1; i <= 3; i++) {
    put8(b, (unsigned)i);
    put8(b, 0);
  }
  put8(b, 0);
  put8(b, 63);
  put8(b, 0);
  put(b, "\x12\x34\xFF\x00\x56", 5); /* entropy data with a stuffed 0xFF */
  put16(b, 0xFFD9);
}

static bz_media_info probe(const void *p, size_t n) {
  bz_media_info mi;
  bz_media_probe_mem((const unsigned char *)p, n, &mi);
  return mi;
}

/* ---- media --------------------------------------------------------------- */

static void test_png(void) {
  bz_buf b = {0};
  bz_media_info mi;
  char path[128], err[128];
  size_t n;

  make_png(&b, 388, 388);
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_PNG && mi.has_dims == 1 && mi.width == 388 && mi.height == 388);
  CHECK(mi.size == (int64_t)b.len);

  path_in_tmp(path, sizeof path, "p388.png");
  write_file(path, b.p, b.len);
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == 0);
  CHECK(mi.type == BZ_MEDIA_PNG && mi.has_dims == 1 && mi.width == 388 && mi.height == 388);
  CHECK(mi.size == (int64_t)b.len);

  /* truncated at every length: PNG iff the signature is complete, dims iff IHDR data is */
  for (n = 0; n < b.len; n++) {
    char *copy = (char *)malloc(n ? n : 1); /* exact-size heap copy: ASan sees overreads */
    must(copy != NULL, "oom");
    memcpy(copy, b.p, n);
    mi = probe(copy, n);
    CHECK(mi.type == (n >= 8 ? BZ_MEDIA_PNG : BZ_MEDIA_UNKNOWN));
    CHECK(mi.has_dims == (n >= 29));
    CHECK(mi.size == (int64_t)n);
    if (n == 20 || n == 28) {
      path_in_tmp(path, sizeof path, "trunc.png");
      write_file(path, copy, n);
      CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == 0);
      CHECK(mi.type == BZ_MEDIA_PNG && mi.has_dims == 0 && mi.width == 0 && mi.size == (int64_t)n);
    }
    free(copy);
  }

  /* first chunk not a valid IHDR -> PNG without dims */
  b.p[15] = 'X'; /* type "IHDX" */
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_PNG && mi.has_dims == 0);
  b.p[15] = 'R';
  b.p[11] = 12; /* length 12 */
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_PNG && mi.has_dims == 0);
  b.p[11] = 13;
  memset(b.p + 16, 0, 4); /* width 0 */
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_PNG && mi.has_dims == 0);
  b.p[16] = (char)0x80; /* width 2^31: out of PNG range */
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_PNG && mi.has_dims == 0);
  bz_buf_free(&b);

  b.len = 0;
  make_png(&b, 1080, 1);
  mi = probe(b.p, b.len);
  CHECK(mi.has_dims && mi.width == 1080 && mi.height == 1);
  bz_buf_free(&b);
}

static void test_jpeg(void) {
  bz_buf b = {0};
  bz_media_info mi;
  jpeg_opts o;
  size_t sof_at, n;
  char path[128], err[128];

  memset(&o, 0, sizeof o);
  o.sof = 0xC0;
  o.w = 640;
  o.h = 480;
  make_jpeg(&b, &o, &sof_at);
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims && mi.width == 640 && mi.height == 480);
  CHECK(mi.size == (int64_t)b.len);

  /* truncated at every length: dims iff marker + length + P + Y + X are present */
  for (n = 0; n < b.len; n++) {
    char *copy = (char *)malloc(n ? n : 1);
    must(copy != NULL, "oom");
    memcpy(copy, b.p, n);
    mi = probe(copy, n);
    CHECK(mi.type == (n >= 3 ? BZ_MEDIA_JPEG : BZ_MEDIA_UNKNOWN));
    CHECK(mi.has_dims == (n >= sof_at + 2 + 7));
    if (mi.has_dims) CHECK(mi.width == 640 && mi.height == 480);
    free(copy);
  }
  path_in_tmp(path, sizeof path, "trunc.jpg");
  write_file(path, b.p, sof_at + 6);
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == 0);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0 && mi.size == (int64_t)sof_at + 6);
  bz_buf_free(&b);

  /* progressive (SOF2), with a DHT before it, fill bytes and a standalone RST */
  memset(&o, 0, sizeof o);
  o.sof = 0xC2;
  o.w = 1080;
  o.h = 720;
  o.dht_before_sof = 1;
  o.fill_and_rst = 1;
  make_jpeg(&b, &o, &sof_at);
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims && mi.width == 1080 && mi.height == 720);
  bz_buf_free(&b);

  /* other SOF kinds count, C8 (JPG) and CC (DAC) do not */
  o.sof = 0xCF; /* lossless, arithmetic */
  make_jpeg(&b, &o, &sof_at);
  mi = probe(b.p, b.len);
  CHECK(mi.has_dims && mi.width == 1080 && mi.height == 720);
  bz_buf_free(&b);
  o.sof = 0xC8;
  make_jpeg(&b, &o, &sof_at);
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0);
  bz_buf_free(&b);
  o.sof = 0xCC;
  make_jpeg(&b, &o, &sof_at);
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0);
  bz_buf_free(&b);

  /* height 0 (defined later by DNL) -> no dims */
  o.sof = 0xC0;
  o.h = 0;
  make_jpeg(&b, &o, &sof_at);
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0);
  bz_buf_free(&b);

  /* 70 000 bytes of APP1 (EXIF) before SOF. One segment holds at most 65 533
   * payload bytes, so this is APP1(65 533) + APP1(4 467); payload full of fake markers. */
  memset(&o, 0, sizeof o);
  o.sof = 0xC0;
  o.w = 388;
  o.h = 500;
  o.app1_bytes = 70000;
  make_jpeg(&b, &o, &sof_at);
  CHECK(sof_at > 70000);
  path_in_tmp(path, sizeof path, "exif.jpg");
  write_file(path, b.p, b.len);
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == 0);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims && mi.width == 388 && mi.height == 500);
  CHECK(mi.size == (int64_t)b.len);
  mi = probe(b.p, b.len);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims && mi.width == 388 && mi.height == 500);
  /* the same file cut inside the second APP1 */
  write_file(path, b.p, 66000);
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == 0);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0 && mi.size == 66000);
  bz_buf_free(&b);

  /* SOS straight after SOI, junk instead of a marker, only fill bytes */
  mi = probe("\xFF\xD8\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\xFF\xC0\x00\x11\x08\x01\x00\x01\x00", 21);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0);
  mi = probe("\xFF\xD8\xFF\xE0\x00\x02\x00\xC0\x00\x11\x08\x01\x00\x01\x00", 15);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0);
  mi = probe("\xFF\xD8\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 20);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims == 0);
  /* fill run across the 16-byte window, then a SOF */
  mi = probe("\xFF\xD8\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
             "\xC1\x00\x0B\x08\x00\x02\x00\x03\x01\x01\x11\x00",
             32);
  CHECK(mi.type == BZ_MEDIA_JPEG && mi.has_dims && mi.width == 3 && mi.height == 2);
  /* segment length < 2, SOF length < 8 */
  mi = probe("\xFF\xD8\xFF\xE0\x00\x01\xFF\xC0\x00\x0B\x08\x00\x02\x00\x03\x01\x01\x11\x00", 19);
  CHECK(mi.has_dims == 0);
  mi = probe("\xFF\xD8\xFF\xC0\x00\x07\x08\x00\x02\x00\x03\x01\x01\x11\x00", 15);
  CHECK(mi.has_dims == 0);
}

static void test_magic(void) {
  bz_media_info mi;
  char path[128], err[128];
  int t;

  CHECK(probe("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", 15).type == BZ_MEDIA_PDF);
  CHECK(probe("%PDF-", 5).type == BZ_MEDIA_PDF);
  CHECK(probe("%PDF", 4).type == BZ_MEDIA_UNKNOWN);
  CHECK(probe("II*\0\x08\0\0\0", 8).type == BZ_MEDIA_TIFF);
  CHECK(probe("MM\0*\0\0\0\x08", 8).type == BZ_MEDIA_TIFF);
  CHECK(probe("II\0*", 4).type == BZ_MEDIA_UNKNOWN);
  CHECK(probe("MM*\0", 4).type == BZ_MEDIA_UNKNOWN);
  CHECK(probe("PK\3\4\x14\0", 6).type == BZ_MEDIA_ZIP);
  CHECK(probe("PK\5\6\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22).type == BZ_MEDIA_ZIP);
  CHECK(probe("PK\7\x08", 4).type == BZ_MEDIA_ZIP);
  CHECK(probe("PK\3", 3).type == BZ_MEDIA_UNKNOWN);
  CHECK(probe("PK\1\2", 4).type == BZ_MEDIA_UNKNOWN);
  CHECK(probe("GIF89a\1\0\1\0", 10).type == BZ_MEDIA_UNKNOWN);
  CHECK(probe("\xFF\xD8", 2).type == BZ_MEDIA_UNKNOWN);
  CHECK(probe("\xFF\xD8\xFF", 3).type == BZ_MEDIA_JPEG);
  CHECK(probe("\x89PNG\r\n\x1A", 7).type == BZ_MEDIA_UNKNOWN);
  mi = probe("", 0);
  CHECK(mi.type == BZ_MEDIA_UNKNOWN && mi.has_dims == 0 && mi.size == 0);
  mi = probe(NULL, 0);
  CHECK(mi.type == BZ_MEDIA_UNKNOWN && mi.size == 0);
  /* the name is never looked at */
  path_in_tmp(path, sizeof path, "looks-like.png");
  write_file(path, "%PDF-1.4\n", 9);
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == 0 && mi.type == BZ_MEDIA_PDF && mi.size == 9);
  path_in_tmp(path, sizeof path, "empty.pdf");
  write_file(path, "", 0);
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == 0 && mi.type == BZ_MEDIA_UNKNOWN && mi.size == 0);
  path_in_tmp(path, sizeof path, "t.tif");
  write_file(path, "MM\0*\0\0\0\x08", 8);
  CHECK(bz_media_probe_file(path, &mi, NULL, 0) == 0 && mi.type == BZ_MEDIA_TIFF);

  /* errors: strerror text only */
  path_in_tmp(path, sizeof path, "does-not-exist.png");
  memset(err, 'x', sizeof err);
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == -1);
  CHECK(strcmp(err, strerror(ENOENT)) == 0);
  CHECK(mi.type == BZ_MEDIA_UNKNOWN && mi.size == 0);
  CHECK(bz_media_probe_file(tmpdir, &mi, err, sizeof err) == -1);
  CHECK(strcmp(err, strerror(EISDIR)) == 0);
  CHECK(bz_media_probe_file(path, &mi, err, 4) == -1 && strlen(err) == 3);
  CHECK(bz_media_probe_file(path, &mi, NULL, 0) == -1);
  CHECK(bz_media_probe_file(NULL, &mi, err, sizeof err) == -1);

  CHECK(strcmp(bz_media_mime(BZ_MEDIA_PNG), "image/png") == 0);
  CHECK(strcmp(bz_media_mime(BZ_MEDIA_JPEG), "image/jpeg") == 0);
  CHECK(strcmp(bz_media_mime(BZ_MEDIA_PDF), "application/pdf") == 0);
  CHECK(strcmp(bz_media_mime(BZ_MEDIA_TIFF), "image/tiff") == 0);
  CHECK(strcmp(bz_media_mime(BZ_MEDIA_ZIP), "application/zip") == 0);
  CHECK(strcmp(bz_media_mime(BZ_MEDIA_UNKNOWN), "application/octet-stream") == 0);
  CHECK(strcmp(bz_media_ext(BZ_MEDIA_PNG), "png") == 0);
  CHECK(strcmp(bz_media_ext(BZ_MEDIA_JPEG), "jpg") == 0);
  CHECK(strcmp(bz_media_ext(BZ_MEDIA_PDF), "pdf") == 0);
  CHECK(strcmp(bz_media_ext(BZ_MEDIA_TIFF), "tif") == 0);
  CHECK(strcmp(bz_media_ext(BZ_MEDIA_ZIP), "zip") == 0);
  CHECK(strcmp(bz_media_ext(BZ_MEDIA_UNKNOWN), "bin") == 0);
  t = 99;
  CHECK(strcmp(bz_media_mime((bz_media_type)t), "application/octet-stream") == 0);
  CHECK(strcmp(bz_media_ext((bz_media_type)t), "bin") == 0);
}

/* ---- multipart + body ---------------------------------------------------- */

static void test_boundary(void) {
  char a[BZ_BOUNDARY_LEN + 1], b[BZ_BOUNDARY_LEN + 1], s71[72];
  size_t i;
  int alnum = 1;
  CHECK(bz_mp_boundary(a) == 0 && bz_mp_boundary(b) == 0);
  CHECK(strlen(a) == BZ_BOUNDARY_LEN && strncmp(a, "----bizreg", 10) == 0);
  for (i = 10; i < BZ_BOUNDARY_LEN; i++)
    if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' && a[i] <= 'z')))
      alnum = 0;
  CHECK(alnum);
  CHECK(strcmp(a, b) != 0);
  CHECK(bz_mp_boundary_ok(a) == 1);

  CHECK(bz_mp_boundary_ok(NULL) == 0);
  CHECK(bz_mp_boundary_ok("") == 0);
  CHECK(bz_mp_boundary_ok("a") == 1);
  CHECK(bz_mp_boundary_ok("a b") == 1);
  CHECK(bz_mp_boundary_ok("ab ") == 0);
  CHECK(bz_mp_boundary_ok(" ") == 0);
  CHECK(bz_mp_boundary_ok("'()+_,-./:=?") == 1);
  CHECK(bz_mp_boundary_ok("a\"b") == 0);
  CHECK(bz_mp_boundary_ok("a;b") == 0);
  CHECK(bz_mp_boundary_ok("a\r\nb") == 0);
  CHECK(bz_mp_boundary_ok("caf\xC3\xA9") == 0);
  memset(s71, 'x', 71);
  s71[71] = '\0';
  CHECK(bz_mp_boundary_ok(s71) == 0);
  s71[70] = '\0';
  CHECK(bz_mp_boundary_ok(s71) == 1);
}

/* Reads the whole body with chunk size `chunk` into out (cap bytes). Returns the
 * length, or -1 on a reader error (message copied to err). */
static long read_partial; /* bytes read_all produced before a failure */

static long read_all(const bz_body *b, size_t chunk, char *out, size_t cap, char *err, size_t errlen) {
  bz_body_reader r;
  size_t len = 0, got;
  bz_reader_init(&r, b);
  for (;;) {
    size_t want = chunk;
    if (want > cap - len) want = cap - len;
    got = bz_reader_read(&r, out + len, want);
    if (got == (size_t)-1) {
      read_partial = (long)len;
      snprintf(err, errlen, "%s", r.err);
      CHECK(bz_reader_read(&r, out, 1) == (size_t)-1); /* sticky */
      bz_reader_close(&r);
      bz_reader_close(&r);
      return -1;
    }
    if (got == 0) break;
    len += got;
    CHECK(r.sent == (int64_t)len);
  }
  bz_reader_close(&r);
  return (long)len;
}

static const char PDF_DATA[] = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/* Builds the test body into *body and the expected bytes into *exp. */
static void build_body(bz_body *body, bz_buf *exp, const char *boundary, const char *pdf_path) {
  static const char json[] = "{\"regBrand\":{\"name\":\"\xEB\xB8\x8C\xEB\x9E\x9C\xEB\x93\x9C\"}}";
  static const char fname[] = "\xEC\xA6\x9D\xEB\xAA\x85\"a\\b\r\n.pdf";
  static bz_buf png = {0};  /* referenced, not copied, by the body: made once, kept for the process */
  if (png.p == NULL) make_png(&png, 388, 388);

  CHECK(bz_mp_field(body, boundary, "regBrand", NULL, json, strlen(json)) == 0);
  CHECK(bz_mp_file_ref(body, boundary, "brandProfile", "logo.png", "image/png", png.p, png.len, 0) == 0);
  CHECK(bz_mp_file_path_checked(body, boundary, "subNumCertificate", fname, "application/pdf", pdf_path,
                        (int64_t)strlen(PDF_DATA), NULL, NULL) == 0);
  CHECK(bz_mp_finish(body, boundary) == 0);

  puts_(exp, "--");
  puts_(exp, boundary);
  puts_(exp, "\r\nContent-Disposition: form-data; name=\"regBrand\"\r\n\r\n");
  puts_(exp, json);
  puts_(exp, "\r\n--");
  puts_(exp, boundary);
  puts_(exp, "\r\nContent-Disposition: form-data; name=\"brandProfile\"; filename=\"logo.png\"\r\n"
             "Content-Type: image/png\r\n\r\n");
  put(exp, png.p, png.len);
  puts_(exp, "\r\n--");
  puts_(exp, boundary);
  puts_(exp, "\r\nContent-Disposition: form-data; name=\"subNumCertificate\"; filename=\""
             "\xEC\xA6\x9D\xEB\xAA\x85_a_b__.pdf\"\r\nContent-Type: application/pdf\r\n\r\n");
  puts_(exp, PDF_DATA);
  puts_(exp, "\r\n--");
  puts_(exp, boundary);
  puts_(exp, "--\r\n");
}

/* The sent filename: stem of the last path component + the detected type's extension. */
static void test_filename(void) {
  char out[64];
  static const char *const cases[][4] = {
    { "logo.jpg", "png", "brandProfile", "logo.png" },
    { "/a/b.c/certificate", "pdf", "x", "certificate.pdf" },
    { "dir/archive.tar.gz", "zip", "x", "archive.tar.zip" },
    { "q\"u\\o\r\nte.PNG", "png", "x", "q_u_o__te.png" },
    { "100% %22.jpeg", "jpg", "x", "100% %22.jpg" },
    { ".png", "png", "brandProfile", "brandProfile.png" },
    { "dir/", "tif", "subNumCertificate", "subNumCertificate.tif" },
    { "", "jpg", "brandBackground", "brandBackground.jpg" },
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = bz_mp_filename(out, sizeof out, cases[i][0], cases[i][2], cases[i][1]);
    CHECK(n == strlen(cases[i][3]) && strcmp(out, cases[i][3]) == 0);
  }
  CHECK(bz_mp_filename(NULL, 0, NULL, "brandProfile", "png") == strlen("brandProfile.png"));
  CHECK(bz_mp_filename(NULL, 0, "abc.x", NULL, "pdf") == 7);
  /* too small: cut like snprintf, always terminated; the return value says how much is needed */
  CHECK(bz_mp_filename(out, 5, "abcdef.x", NULL, "pdf") == 10 && strcmp(out, "abcd") == 0);
  CHECK(bz_mp_filename(out, 1, "abcdef.x", NULL, "pdf") == 10 && out[0] == '\0');
}

static void test_multipart(void) {
  char boundary[BZ_BOUNDARY_LEN + 1], pdf[128], err[160], ct[128];
  static const size_t chunks[] = {1, 2, 7, 64, 65536};
  bz_body body;
  bz_buf exp = {0};
  char *out;
  size_t i, cap;
  long n;

  must(bz_mp_boundary(boundary) == 0, "boundary");
  path_in_tmp(pdf, sizeof pdf, "cert.pdf");
  write_file(pdf, PDF_DATA, strlen(PDF_DATA));

  memset(&body, 0, sizeof body);
  build_body(&body, &exp, boundary, pdf);
  CHECK(body.total == (int64_t)exp.len);
  snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", boundary);
  CHECK(strcmp(body.content_type, ct) == 0);
  /* segments: [mem][ref: the PNG][mem][file][mem] */
  CHECK(body.nsegs == 5 && body.segs[0].kind == BZ_SEG_MEM && body.segs[1].kind == BZ_SEG_REF &&
        body.segs[2].kind == BZ_SEG_MEM && body.segs[3].kind == BZ_SEG_FILE && body.segs[4].kind == BZ_SEG_MEM);

  cap = exp.len + 64;
  out = (char *)malloc(cap);
  must(out != NULL, "oom");
  for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    n = read_all(&body, chunks[i], out, cap, err, sizeof err);
    CHECK(n == (long)exp.len);
    CHECK(n == (long)body.total);
    CHECK(n > 0 && memcmp(out, exp.p, exp.len) == 0);
  }

  /* the file grew after bz_mp_file_path_checked */
  append_file(pdf, "X");
  CHECK(read_all(&body, 7, out, cap, err, sizeof err) == -1);
  CHECK(strstr(err, "cert.pdf") != NULL && strstr(err, "size") != NULL);
  /* shrank */
  CHECK(truncate(pdf, (off_t)strlen(PDF_DATA) - 1) == 0);
  CHECK(read_all(&body, 7, out, cap, err, sizeof err) == -1);
  CHECK(strstr(err, "cert.pdf") != NULL);
  /* gone */
  CHECK(unlink(pdf) == 0);
  CHECK(read_all(&body, 7, out, cap, err, sizeof err) == -1);
  CHECK(strstr(err, "cannot open") != NULL && strstr(err, strerror(ENOENT)) != NULL);

  /* changes while the file is open (past the fstat check): detected by the reads */
  {
    bz_body_reader r;
    size_t got, before = body.segs[0].len + body.segs[1].len + body.segs[2].len;  /* the parts before the file */
    write_file(pdf, PDF_DATA, strlen(PDF_DATA));
    bz_reader_init(&r, &body);
    got = bz_reader_read(&r, out, before + 5); /* opens the file, 5 bytes in */
    CHECK(got == before + 5 && r.fp != NULL);
    append_file(pdf, "more");
    got = bz_reader_read(&r, out, 4096);
    CHECK(got == (size_t)-1 && strstr(r.err, "grown") != NULL && r.fp == NULL);
    bz_reader_close(&r);

    /* shrinking while open: use a file larger than the stdio buffer, since bytes
     * already buffered are a consistent snapshot and are sent as they are */
    {
      bz_body big;
      char bigpath[128];
      size_t bigsize = 300000, total = 0;
      char *data = (char *)calloc(bigsize, 1);
      must(data != NULL, "oom");
      path_in_tmp(bigpath, sizeof bigpath, "big.bin");
      write_file(bigpath, data, bigsize);
      memset(&big, 0, sizeof big);
      CHECK(bz_mp_file_path_checked(&big, boundary, "f", "big.bin", "application/zip", bigpath, (int64_t)bigsize, NULL, NULL) == 0);
      bz_reader_init(&r, &big);
      got = bz_reader_read(&r, data, big.segs[0].len + 5);
      CHECK(got == big.segs[0].len + 5 && r.fp != NULL);
      CHECK(truncate(bigpath, 10) == 0);
      do {
        got = bz_reader_read(&r, data, 4096);
        if (got != (size_t)-1) total += got;
      } while (got != (size_t)-1 && got != 0);
      CHECK(got == (size_t)-1 && strstr(r.err, "shorter") != NULL && total < bigsize);
      bz_reader_close(&r);
      bz_body_free(&big);
      free(data);
    }
    write_file(pdf, PDF_DATA, strlen(PDF_DATA));
  }
  n = read_all(&body, 3, out, cap, err, sizeof err);
  CHECK(n == (long)exp.len && memcmp(out, exp.p, exp.len) == 0);

  /* invalid arguments leave the body untouched */
  {
    int64_t total = body.total;
    size_t nsegs = body.nsegs, mlen = body.mem.len, last = body.segs[body.nsegs - 1].len;
    char evil[128];
    CHECK(bz_mp_field(&body, "bad\"boundary", "x", NULL, "v", 1) == -2);
    CHECK(bz_mp_field(&body, boundary, NULL, NULL, "v", 1) == -2);
    CHECK(bz_mp_field(&body, boundary, "x", "text/plain\r\nX-Evil: 1", "v", 1) == -2);
    CHECK(bz_mp_field(&body, boundary, "x", "", "v", 1) == -2);
    CHECK(bz_mp_field(&body, boundary, "x", NULL, NULL, 1) == -2);
    snprintf(evil, sizeof evil, "abc\r\n--%s--\r\n", boundary);
    CHECK(bz_mp_field(&body, boundary, "x", NULL, evil, strlen(evil)) == -2);
    CHECK(bz_mp_file_ref(&body, boundary, "x", "f", "text/plain", evil + 5, strlen(evil) - 5, 0) == -2);
    CHECK(bz_mp_file_path_checked(&body, boundary, "x", "f", NULL, pdf, -1, NULL, NULL) == -2);
    CHECK(bz_mp_file_path_checked(&body, boundary, "x", "f", NULL, NULL, 1, NULL, NULL) == -2);
    CHECK(bz_mp_finish(&body, "") == -2);
    CHECK(body.total == total && body.nsegs == nsegs && body.mem.len == mlen &&
          body.segs[body.nsegs - 1].len == last);
    /* "--boundary" not at a line start is fine */
    snprintf(evil, sizeof evil, "x--%s", boundary);
    CHECK(bz_mp_field(&body, boundary, "ok", NULL, evil, strlen(evil)) == 0);
  }
  bz_body_free(&body);
  bz_body_free(&body); /* idempotent */

  /* names are escaped too; empty data; field with Content-Type; quoted boundary */
  memset(&body, 0, sizeof body);
  bz_buf_free(&exp);
  CHECK(bz_mp_field(&body, "a b/c", "n\"\\\r\n", "application/json", "", 0) == 0);
  CHECK(bz_mp_file_ref(&body, "a b/c", "f", "", "text/plain", NULL, 0, 0) == 0);
  CHECK(bz_mp_finish(&body, "a b/c") == 0);
  puts_(&exp, "--a b/c\r\nContent-Disposition: form-data; name=\"n____\"\r\n"
              "Content-Type: application/json\r\n\r\n\r\n"
              "--a b/c\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
              "Content-Type: text/plain\r\n\r\n\r\n"
              "--a b/c--\r\n");
  CHECK(strcmp(body.content_type, "multipart/form-data; boundary=\"a b/c\"") == 0);
  n = read_all(&body, 5, out, cap, err, sizeof err);
  CHECK(n == (long)exp.len && body.total == (int64_t)exp.len && memcmp(out, exp.p, exp.len) == 0);
  CHECK(body.nsegs == 1);
  bz_body_free(&body);

  /* segment bookkeeping: memory appends merge, a file splits; empty file */
  memset(&body, 0, sizeof body);
  path_in_tmp(pdf, sizeof pdf, "empty.bin");
  write_file(pdf, "", 0);
  CHECK(bz_body_add_mem(&body, "ab", 2) == 0 && bz_body_add_mem(&body, "cd", 2) == 0);
  CHECK(bz_body_add_mem(&body, NULL, 0) == 0);
  CHECK(body.nsegs == 1 && body.segs[0].len == 4);
  CHECK(bz_body_add_file_checked(&body, pdf, 0, NULL, NULL) == 0);
  CHECK(bz_body_add_file_checked(&body, pdf, -1, NULL, NULL) == -1);
  CHECK(bz_body_add_mem(&body, "ef", 2) == 0);
  CHECK(body.nsegs == 3 && body.total == 6);
  CHECK(bz_body_add_file_checked(&body, pdf, 0, NULL, NULL) == 0);
  n = read_all(&body, 1, out, cap, err, sizeof err);
  CHECK(n == 6 && memcmp(out, "abcdef", 6) == 0);
  append_file(pdf, "!");
  CHECK(read_all(&body, 100, out, cap, err, sizeof err) == -1);
  bz_body_free(&body);

  free(out);
  bz_buf_free(&exp);
}

/* The Lua-facing part: metatable, methods, tostring and its error path, __gc. */
static void test_lua(void) {
  char boundary[BZ_BOUNDARY_LEN + 1], pdf[128];
  bz_buf exp = {0};
  bz_body *body;
  lua_State *L = luaL_newstate();
  must(L != NULL, "lua state");
  luaL_openlibs(L);
  bz_body_open(L);
  bz_body_open(L); /* twice is fine */
  CHECK(lua_gettop(L) == 0);

  must(bz_mp_boundary(boundary) == 0, "boundary");
  path_in_tmp(pdf, sizeof pdf, "lua.pdf");
  write_file(pdf, PDF_DATA, strlen(PDF_DATA));
  body = bz_body_push(L);
  CHECK(lua_gettop(L) == 1);
  build_body(body, &exp, boundary, pdf);
  lua_setglobal(L, "body");
  lua_pushlstring(L, exp.p, exp.len);
  lua_setglobal(L, "expected");
  lua_pushstring(L, body->content_type);
  lua_setglobal(L, "ctype");
  bz_body_push(L); /* empty, collected by lua_close */
  lua_setglobal(L, "empty");

  if (luaL_dostring(L,
                    "assert(#body == #expected, 'len')\n"
                    "assert(body:size() == #expected, 'size')\n"
                    "assert(body:content_type() == ctype, 'ctype')\n"
                    "assert(body:tostring() == expected, 'tostring')\n"
                    "assert(body:tostring() == expected, 'tostring twice')\n"
                    "assert(#empty == 0 and empty:tostring() == '' and empty:content_type() == nil)\n"
                    "assert(not pcall(body.size, {}), 'wrong self raises')\n"
                    "getmetatable(empty).__gc(empty); getmetatable(empty).__gc({})\n"
                    "assert(#empty == 0)\n") != 0) {
    fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
    CHECK(0);
    lua_pop(L, 1);
  }
  append_file(pdf, "grown");
  if (luaL_dostring(L,
                    "local s, err = body:tostring()\n"
                    "assert(s == nil and type(err) == 'string' and err:find('lua.pdf', 1, true), tostring(err))\n") != 0) {
    fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
    CHECK(0);
    lua_pop(L, 1);
  }
  unlink(pdf);
  if (luaL_dostring(L,
                    "local s, err = body:tostring()\n"
                    "assert(s == nil and err:find('cannot open', 1, true), tostring(err))\n"
                    "body = nil; collectgarbage(); collectgarbage()\n") != 0) {
    fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
    CHECK(0);
    lua_pop(L, 1);
  }
  lua_close(L);
  bz_buf_free(&exp);
}


/* ---- structure, feed, digest, non-regular files ---------------------------- */

static void feed_collect(void *ctx, const unsigned char *p, size_t n) { put((bz_buf *)ctx, p, n); }

static void test_complete(void) {
  bz_buf b = {0};
  jpeg_opts o;
  size_t i, n, sof_at;
  make_png(&b, 388, 388);
  CHECK(probe(b.p, b.len).complete == 1);
  for (n = 0; n < b.len; n++) { /* every truncation: IEND is last */
    char *copy = (char *)malloc(n ? n : 1);
    must(copy != NULL, "oom");
    memcpy(copy, b.p, n);
    CHECK(probe(copy, n).complete == 0);
    free(copy);
  }
  for (i = 8; i < b.len; i++) { /* any changed byte after the signature: a CRC or the layout breaks */
    b.p[i] ^= 0x01;
    CHECK(probe(b.p, b.len).complete == 0);
    b.p[i] ^= 0x01;
  }
  put(&b, "\0\0\0", 3); /* bytes after IEND are not chunks */
  CHECK(probe(b.p, b.len).complete == 1);
  bz_buf_free(&b);

  memset(&o, 0, sizeof o);
  o.sof = 0xC0;
  o.w = o.h = 500;
  make_jpeg(&b, &o, &sof_at);
  CHECK(probe(b.p, b.len).complete == 1);
  for (n = 0; n < b.len; n++) {
    char *copy = (char *)malloc(n ? n : 1);
    must(copy != NULL, "oom");
    memcpy(copy, b.p, n);
    CHECK(probe(copy, n).complete == 0);
    free(copy);
  }
  put(&b, "\0\0", 2);
  CHECK(probe(b.p, b.len).complete == 1);
  bz_buf_free(&b);
  o.sof = 0xC2;
  o.dht_before_sof = o.fill_and_rst = 1;
  o.app1_bytes = 70000;
  make_jpeg(&b, &o, &sof_at);
  CHECK(probe(b.p, b.len).complete == 1 && probe(b.p, b.len).width == 500);
  bz_buf_free(&b);

  CHECK(probe("%PDF-1.4\n", 9).complete == 1);
  CHECK(probe("II*\0\x08\0\0\0", 8).complete == 1);
  CHECK(probe("PK\5\6\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22).complete == 1);
  CHECK(probe("GIF89a\1\0\1\0", 10).complete == 0);
}

/* The feed sees every byte of the file once, in order; max_read bounds the work. */
static void test_feed(void) {
  bz_buf b = {0}, got = {0};
  bz_media_info mi, mm;
  jpeg_opts o;
  size_t sof_at, k;
  char path[128], err[128];
  memset(&o, 0, sizeof o);
  o.sof = 0xC0;
  o.w = o.h = 400;
  o.app1_bytes = 200000; /* skipped segments are still read and fed */
  make_jpeg(&b, &o, &sof_at);
  path_in_tmp(path, sizeof path, "feed.jpg");
  for (k = 0; k < 2; k++) {
    if (k == 1) { /* a PNG whose chunks span several windows, bytes after IEND */
      bz_buf big = {0};
      unsigned char *pad = (unsigned char *)calloc(150000, 1);
      must(pad != NULL, "oom");
      make_png(&big, 400, 400);                   /* sig(8) IHDR(25) IDAT(21) IEND(12) */
      b.len = 0;
      put(&b, big.p, 33);
      png_chunk(&b, "prVt", pad, 150000);
      put(&b, big.p + 33, big.len - 33);
      put(&b, "trailing", 8);
      free(pad);
      bz_buf_free(&big);
      path_in_tmp(path, sizeof path, "feed.png");
    }
    write_file(path, b.p, b.len);
    got.len = 0;
    CHECK(bz_media_probe_file_ex(path, INT64_MAX, feed_collect, &got, &mi, err, sizeof err) == 0);
    CHECK(got.len == b.len && memcmp(got.p, b.p, b.len) == 0);
    mm = probe(b.p, b.len);
    CHECK(mi.read_all == 1 && mi.size == (int64_t)b.len && mi.complete == 1 && mi.type == mm.type &&
          mi.width == mm.width && mi.height == mm.height);
    got.len = 0;
    CHECK(bz_media_probe_file_ex(path, (int64_t)b.len, feed_collect, &got, &mi, err, sizeof err) == 0);
    CHECK(mi.read_all == 1 && mi.complete == 1 && got.len == b.len);
    got.len = 0; /* larger than max_read: the head only, nothing fed, never complete */
    CHECK(bz_media_probe_file_ex(path, (int64_t)b.len - 1, feed_collect, &got, &mi, err, sizeof err) == 0);
    CHECK(mi.read_all == 0 && mi.complete == 0 && got.len == 0 && mi.size == (int64_t)b.len && mi.type == mm.type);
  }
  bz_buf_free(&b);
  bz_buf_free(&got);
}

static void test_nonregular(void) {
  bz_media_info mi;
  char path[128], err[128];
  path_in_tmp(path, sizeof path, "fifo");
  must(mkfifo(path, 0600) == 0, "mkfifo");
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == -1 && strcmp(err, "not a regular file") == 0);
  CHECK(bz_media_probe_file("/dev/null", &mi, err, sizeof err) == -1 && strcmp(err, "not a regular file") == 0);
  CHECK(bz_media_probe_file("/dev/zero", &mi, err, sizeof err) == -1 && strcmp(err, "not a regular file") == 0);
  CHECK(bz_media_probe_file(tmpdir, &mi, err, sizeof err) == -1 && strcmp(err, strerror(EISDIR)) == 0);
  path_in_tmp(path, sizeof path, "loop");
  must(symlink("loop", path) == 0, "symlink");
  CHECK(bz_media_probe_file(path, &mi, err, sizeof err) == -1 && strcmp(err, strerror(ELOOP)) == 0);
  CHECK(mi.type == BZ_MEDIA_UNKNOWN && mi.size == 0);
}

static void hex(const unsigned char *d, char *out) {
  int i;
  for (i = 0; i < BZ_SHA256_LEN; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int sha_is(const void *p, size_t n, const char *want) {
  unsigned char d[BZ_SHA256_LEN];
  char h[2 * BZ_SHA256_LEN + 1];
  if (bz_sha256_digest(p, n, d) != 0) return 0;
  hex(d, h);
  return strcmp(h, want) == 0;
}

static void test_sha256(void) {
  static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  char *million = (char *)malloc(1000000);
  must(million != NULL, "oom");
  memset(million, 'a', 1000000);
  CHECK(sha_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK(sha_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK(sha_is(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  CHECK(sha_is(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
  free(million);
}

static void mac_of(const unsigned char *key, const void *p, size_t cut, size_t n, unsigned char out[BZ_FILEMAC_LEN]) {
  bz_filemac c;
  must(bz_filemac_init(&c, key) == 0, "filemac init");
  bz_filemac_feed(&c, (const unsigned char *)p, cut);  /* in two pieces, as a file is read */
  bz_filemac_feed(&c, (const unsigned char *)p + cut, n - cut);
  must(bz_filemac_final(&c, out) == 0, "filemac final");
}

/* The file fingerprint is Poly1305 (RFC 8439's test vector, section 2.5.2), the same
 * whatever the split of the bytes, and another key gives another tag. */
static void test_filemac(void) {
  static const unsigned char key[BZ_FILEMAC_KEY_LEN] = {
      0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8,
      0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b};
  static const unsigned char want[BZ_FILEMAC_LEN] = {0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6,
                                                     0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9};
  static const char rfc[] = "Cryptographic Forum Research Group";
  unsigned char t1[BZ_FILEMAC_LEN], t2[BZ_FILEMAC_LEN], k2[BZ_FILEMAC_KEY_LEN], msg[300];
  size_t i, cut;
  mac_of(key, rfc, 0, strlen(rfc), t1);
  CHECK(memcmp(t1, want, sizeof want) == 0);
  for (i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)(i * 31 + 7);
  mac_of(key, msg, 0, sizeof msg, t1);
  for (cut = 0; cut <= sizeof msg; cut++) { /* any split gives the same tag */
    mac_of(key, msg, cut, sizeof msg, t2);
    CHECK(memcmp(t1, t2, sizeof t1) == 0);
  }
  CHECK(bz_filemac_key(k2) == 0 && memcmp(k2, key, sizeof key) != 0);
  mac_of(k2, msg, 0, sizeof msg, t2);
  CHECK(memcmp(t1, t2, sizeof t1) != 0);
}

/* A checked file segment: what is read must have the fingerprint validation recorded; on a
 * mismatch the segment's last bytes are never returned. */
static void test_checked_reader(void) {
  char boundary[BZ_BOUNDARY_LEN + 1], path[128], err[160];
  unsigned char key[BZ_FILEMAC_KEY_LEN], tag[BZ_FILEMAC_LEN];
  bz_buf png = {0};
  bz_body body;
  bz_filemac c;
  bz_media_info mi;
  char *out;
  size_t cap, at, k;
  long n, file_end;

  must(bz_mp_boundary(boundary) == 0, "boundary");
  make_png(&png, 400, 400);
  path_in_tmp(path, sizeof path, "checked.png");
  write_file(path, png.p, png.len);
  must(bz_filemac_key(key) == 0 && bz_filemac_init(&c, key) == 0, "filemac");
  /* the fingerprint of exactly the bytes the probe judged */
  CHECK(bz_media_probe_file_ex(path, 1 << 20, bz_filemac_feed, &c, &mi, err, sizeof err) == 0);
  CHECK(bz_filemac_final(&c, tag) == 0);
  memset(&body, 0, sizeof body);
  CHECK(bz_mp_file_path_checked(&body, boundary, "brandProfile", "p.png", "image/png", path, mi.size, key, tag) == 0);
  CHECK(bz_mp_finish(&body, boundary) == 0);
  file_end = (long)(body.segs[0].len + png.len);
  cap = (size_t)body.total + 16;
  out = (char *)malloc(cap);
  must(out != NULL, "oom");
  CHECK(read_all(&body, 7, out, cap, err, sizeof err) == (long)body.total);
  CHECK(memcmp(out + body.segs[0].len, png.p, png.len) == 0);
  for (k = 0; k < 3; k++) { /* first, middle, last byte */
    at = k == 0 ? 0 : k == 1 ? png.len / 2 : png.len - 1;
    png.p[at] ^= 0x20;
    write_file(path, png.p, png.len); /* same size, other bytes */
    n = read_all(&body, k == 1 ? 65536 : 7, out, cap, err, sizeof err);
    CHECK(n == -1 && strstr(err, "changed since validation") != NULL);
    CHECK(read_partial < file_end); /* the file's last bytes (and the closing boundary) withheld */
    png.p[at] ^= 0x20;
  }
  write_file(path, png.p, png.len);
  CHECK(read_all(&body, 1, out, cap, err, sizeof err) == (long)body.total);
  /* swapped for a FIFO or a directory: fails at once, never blocks */
  CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0);
  CHECK(read_all(&body, 7, out, cap, err, sizeof err) == -1 && strstr(err, "not a regular file") != NULL);
  CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
  CHECK(read_all(&body, 7, out, cap, err, sizeof err) == -1 && strstr(err, "not a regular file") != NULL);
  CHECK(rmdir(path) == 0);
  bz_body_free(&body);
  free(out);
  bz_buf_free(&png);
}

static void cleanup_tmp(void) {
  static const char *names[] = {"p388.png", "trunc.png", "trunc.jpg", "exif.jpg", "looks-like.png",
                                "empty.pdf", "t.tif", "cert.pdf", "empty.bin", "lua.pdf", "big.bin",
                                "feed.jpg", "feed.png", "fifo", "loop", "checked.png"};
  char path[128];
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    path_in_tmp(path, sizeof path, names[i]);
    unlink(path);
  }
  rmdir(tmpdir);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/bz_media_test.XXXXXX");
  must(mkdtemp(tmpdir) != NULL, "mkdtemp");
  test_png();
  test_jpeg();
  test_magic();
  test_boundary();
  test_filename();
  test_multipart();
  test_lua();
  test_complete();
  test_feed();
  test_nonregular();
  test_sha256();
  test_filemac();
  test_checked_reader();
  cleanup_tmp();
  printf("media_c_test: %d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
