/* Media sniffing by magic bytes; PNG (IHDR) and JPEG (SOFn) dimensions; PNG/JPEG
 * structure. One prober works on an abstract source: a memory range, or a regular
 * file read strictly forward through a window, every byte once and in order (and
 * handed to the caller's feed), so the bytes judged are exactly the bytes fed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "media.h"

/* Upper bound on JPEG marker segments visited. Real files have a few dozen;
 * this only caps the work on crafted input. */
#define JPEG_MAX_SEGMENTS 100000
#define WINDOW (64 * 1024) /* file window */
#define STEP 4096          /* largest request to src_at; keeps window moves cheap */

typedef struct media_src {
  const unsigned char *p; /* memory: all the data; file: the window */
  size_t n;               /* valid bytes at p */
  int64_t base;           /* offset of p[0]; the file position is always base + n */
  int fd;                 /* -1: memory source */
  unsigned char *buf;     /* file: window storage (WINDOW bytes) */
  int64_t limit;          /* file: never read past this offset */
  int eof, err;           /* err: errno of a failed read; sticky */
  bz_media_feed feed;
  void *ctx;
} media_src;

/* File: appends the next bytes of the file to the window (feeding them). */
static void fill(media_src *s) {
  size_t room = WINDOW - s->n;
  int64_t end = s->base + (int64_t)s->n;
  ssize_t r;
  if (s->limit - end < (int64_t)room) room = (size_t)(s->limit - end);
  if (room == 0) {
    s->eof = 1;
    return;
  }
  do r = read(s->fd, s->buf + s->n, room);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    s->err = errno ? errno : EIO;
  } else if (r == 0) {
    s->eof = 1;
  } else {
    if (s->feed) s->feed(s->ctx, s->buf + s->n, (size_t)r);
    s->n += (size_t)r;
  }
}

/* Pointer to the bytes at offset off, *got = how many (<= want, <= STEP); fewer
 * than asked only at the end of the data or on an error. Valid until the next call.
 * Offsets never go back before the last request's offset (the probers read forward). */
static const unsigned char *src_at(media_src *s, int64_t off, size_t want, size_t *got) {
  int64_t end;
  *got = 0;
  if (want > STEP) want = STEP;
  if (off < s->base || s->err) return NULL;
  while (off + (int64_t)want > s->base + (int64_t)s->n && s->fd >= 0 && !s->eof && !s->err) {
    end = s->base + (int64_t)s->n;
    if (off >= end) { /* skip: the bytes in between are still read and fed */
      s->base = end;
      s->n = 0;
    } else if (off > s->base) { /* keep the tail from off on */
      memmove(s->buf, s->buf + (size_t)(off - s->base), (size_t)(end - off));
      s->n = (size_t)(end - off);
      s->base = off;
    }
    fill(s);
  }
  end = s->base + (int64_t)s->n;
  if (off >= end || s->err) return NULL;
  *got = (size_t)(end - off) < want ? (size_t)(end - off) : want;
  return s->p + (size_t)(off - s->base);
}

static uint32_t be16(const unsigned char *p) { return ((uint32_t)p[0] << 8) | (uint32_t)p[1]; }

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* ---- PNG ------------------------------------------------------------------- */

static const unsigned char PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

/* h holds the first n bytes. The first chunk must be a complete IHDR: length 13,
 * type "IHDR", 13 data bytes present; width/height 1..2^31-1 (PNG spec). */
static void png_dims(const unsigned char *h, size_t n, bz_media_info *out) {
  uint32_t w, ht;
  if (n < 8 + 4 + 4 + 13) return;
  if (be32(h + 8) != 13 || memcmp(h + 12, "IHDR", 4) != 0) return;
  w = be32(h + 16);
  ht = be32(h + 20);
  if (w == 0 || ht == 0 || w > 0x7FFFFFFFu || ht > 0x7FFFFFFFu) return;
  out->has_dims = 1;
  out->width = w;
  out->height = ht;
}

/* CRC-32 (ISO-HDLC, as PNG), slice-by-8: built per probe (a few µs), no global state. */
typedef struct crc_tab { uint32_t t[8][256]; } crc_tab;

static void crc_init(crc_tab *c) {
  uint32_t i, k, v;
  for (i = 0; i < 256; i++) {
    for (v = i, k = 0; k < 8; k++) v = (v >> 1) ^ (0xEDB88320u & (0u - (v & 1u)));
    c->t[0][i] = v;
  }
  for (i = 0; i < 256; i++)
    for (k = 1; k < 8; k++) c->t[k][i] = (c->t[k - 1][i] >> 8) ^ c->t[0][c->t[k - 1][i] & 255];
}

/* reg: running register (start 0xFFFFFFFF, final value inverted). */
static uint32_t crc_run(const crc_tab *c, uint32_t reg, const unsigned char *p, size_t n) {
  while (n >= 8) {
    uint32_t a = reg ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    reg = c->t[7][a & 255] ^ c->t[6][(a >> 8) & 255] ^ c->t[5][(a >> 16) & 255] ^ c->t[4][a >> 24] ^
          c->t[3][p[4]] ^ c->t[2][p[5]] ^ c->t[1][p[6]] ^ c->t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) reg = c->t[0][(reg ^ *p++) & 255] ^ (reg >> 8);
  return reg;
}

static int png_type_ok(const unsigned char *t) {
  int i;
  for (i = 0; i < 4; i++)
    if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z'))) return 0;
  return 1;
}

/* IHDR data: size 1..2^31-1, bit depth allowed for the colour type, methods 0, interlace 0/1. */
static int png_ihdr_ok(const unsigned char *d) {
  unsigned depth = d[8], color = d[9];
  int d8 = depth == 8 || depth == 16;
  if (be32(d) - 1u >= 0x7FFFFFFFu || be32(d + 4) - 1u >= 0x7FFFFFFFu) return 0;
  if (d[10] != 0 || d[11] != 0 || d[12] > 1) return 0;
  switch (color) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || d8;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return d8;
    default: return 0;
  }
}

#define IS(t, name) (memcmp((t), (name), 4) == 0)

/* Walks every chunk after the signature; see media.h for the rules. */
static int png_complete(media_src *s, const crc_tab *c) {
  int64_t pos = 8;
  unsigned char ihdr[13] = {0};
  int first = 1, color = -1, plte = 0, idat = 0; /* idat: 0 none yet, 1 in the run, 2 run over */
  for (;;) {
    unsigned char hd[8];
    const unsigned char *p;
    size_t got;
    uint32_t len, left, reg;
    p = src_at(s, pos, 8, &got);
    if (got < 8) return 0;
    memcpy(hd, p, 8);
    len = be32(hd);
    if (len > 0x7FFFFFFFu || !png_type_ok(hd + 4)) return 0;
    if (first != IS(hd + 4, "IHDR") || (first && len != 13)) return 0;
    reg = crc_run(c, 0xFFFFFFFFu, hd + 4, 4);
    pos += 8;
    for (left = len; left > 0; left -= (uint32_t)got, pos += (int64_t)got) {
      p = src_at(s, pos, left < STEP ? left : STEP, &got);
      if (got == 0 || (first && got < 13)) return 0;
      if (first) memcpy(ihdr, p, 13); /* len 13 < STEP: one piece */
      reg = crc_run(c, reg, p, got);
    }
    p = src_at(s, pos, 4, &got);
    if (got < 4 || be32(p) != (reg ^ 0xFFFFFFFFu)) return 0;
    pos += 4;
    if (first) {
      if (!png_ihdr_ok(ihdr)) return 0;
      color = ihdr[9];
      first = 0;
    } else if (IS(hd + 4, "PLTE")) {
      if (idat || plte || len == 0 || len % 3 != 0 || len > 768) return 0;
      plte = 1;
    } else if (IS(hd + 4, "IDAT")) {
      if (idat == 2 || (color == 3 && !plte)) return 0;
      idat = 1;
    } else {
      if (idat == 1) idat = 2;
      if (IS(hd + 4, "IEND")) return idat != 0 && len == 0;
    }
  }
}

/* ---- JPEG ------------------------------------------------------------------ */

static int jpeg_is_sof(unsigned m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* *pos is just past a scan header: finds the marker that ends the entropy-coded data
 * (0xFF not followed by a stuffed 0x00, an RSTn or a fill 0xFF). 0 at the end of data. */
static int jpeg_skip_scan(media_src *s, int64_t *pos) {
  int64_t p = *pos;
  for (;;) {
    size_t got, k;
    const unsigned char *w = src_at(s, p, STEP, &got), *ff;
    unsigned next;
    if (got < 2) return 0;
    ff = (const unsigned char *)memchr(w, 0xFF, got - 1); /* the byte after it is in w */
    if (ff == NULL) {
      p += (int64_t)got - 1;
      continue;
    }
    k = (size_t)(ff - w);
    next = w[k + 1];
    if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
      p += (int64_t)k + 2;
    } else if (next == 0xFF) {
      p += (int64_t)k + 1;
    } else {
      *pos = p + (int64_t)k;
      return 1;
    }
  }
}

/* Walks the marker segments after SOI (offset 2): dimensions from the first SOFn
 * (as before: set once the SOF is read, whatever follows) and completeness.
 * Segments are skipped by their length field; scans by jpeg_skip_scan. */
static void jpeg_walk(media_src *s, bz_media_info *out) {
  int64_t pos = 2;
  int seg, sof = 0, scans = 0;
  for (seg = 0; seg < JPEG_MAX_SEGMENTS; seg++) {
    const unsigned char *w;
    size_t got, i;
    unsigned m;
    uint32_t len;

    w = src_at(s, pos, 16, &got);
    if (got < 2 || w[0] != 0xFF) return; /* end of data, or not at a marker */
    for (i = 1; i < got && w[i] == 0xFF; i++) {
    } /* fill bytes */
    if (i == got) { /* window is all 0xFF: slide, keeping one 0xFF at pos */
      pos += (int64_t)(got - 1);
      continue;
    }
    m = w[i];
    pos += (int64_t)i + 1; /* just past the marker byte */
    if (m == 0xD9) { /* EOI */
      out->complete = sof && scans;
      return;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* TEM, RSTn: no length */
    if (m == 0x00 || m == 0xD8) return;                   /* stuffed zero, second SOI: corrupt */

    w = src_at(s, pos, 7, &got);
    if (got < 2) return;
    len = be16(w); /* includes its own two bytes */
    if (len < 2) return;
    if (jpeg_is_sof(m)) {
      uint32_t height, width;
      /* Lf(2) P(1) Y(2) X(2) Nf(1): a valid SOF is at least 8 bytes long */
      if (sof || len < 8 || got < 7) return;
      height = be16(w + 3);
      width = be16(w + 5);
      if (width == 0 || height == 0) return; /* height 0: defined later by DNL */
      out->has_dims = 1;
      out->width = width;
      out->height = height;
      sof = 1;
    } else if (m == 0xDA) {
      if (!sof) return; /* a scan needs its frame header first */
      pos += (int64_t)len;
      if (!jpeg_skip_scan(s, &pos)) return;
      scans++;
      continue;
    }
    pos += (int64_t)len;
  }
}

/* ---- probe ------------------------------------------------------------------ */

static void probe(media_src *s, bz_media_info *out) {
  unsigned char h[32];
  size_t n;
  const unsigned char *p = src_at(s, 0, sizeof h, &n);
  if (p) memcpy(h, p, n);

  if (n >= 8 && memcmp(h, PNG_SIG, 8) == 0) {
    crc_tab *c = (crc_tab *)malloc(sizeof *c);
    out->type = BZ_MEDIA_PNG;
    png_dims(h, n, out);
    if (c == NULL) {
      s->err = ENOMEM;
      return;
    }
    crc_init(c);
    out->complete = png_complete(s, c);
    free(c);
  } else if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
    out->type = BZ_MEDIA_JPEG;
    jpeg_walk(s, out);
  } else if (n >= 5 && memcmp(h, "%PDF-", 5) == 0) {
    out->type = BZ_MEDIA_PDF;
  } else if (n >= 4 && ((h[0] == 'I' && h[1] == 'I' && h[2] == 42 && h[3] == 0) ||
                        (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && h[3] == 42))) {
    out->type = BZ_MEDIA_TIFF;
  } else if (n >= 4 && h[0] == 'P' && h[1] == 'K' &&
             ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6) || (h[2] == 7 && h[3] == 8))) {
    out->type = BZ_MEDIA_ZIP;
  }
  if (out->type == BZ_MEDIA_PDF || out->type == BZ_MEDIA_TIFF || out->type == BZ_MEDIA_ZIP) out->complete = 1;
}

void bz_media_probe_mem(const unsigned char *p, size_t n, bz_media_info *out) {
  media_src s;
  memset(out, 0, sizeof *out);
  memset(&s, 0, sizeof s);
  if (p == NULL) n = 0;
  s.p = p;
  s.n = n;
  s.fd = -1;
  probe(&s, out);
  if (s.err) out->complete = 0; /* out of memory for the CRC table */
  out->size = (int64_t)n;
  out->read_all = 1;
}

static void set_err(char *errbuf, size_t errlen, const char *msg) {
  if (errbuf != NULL && errlen > 0) snprintf(errbuf, errlen, "%s", msg);
}

/* 0, or -1 with errbuf set, for a stat of something that must be a regular file. */
static int regular_only(const struct stat *st, char *errbuf, size_t errlen) {
  if (S_ISREG(st->st_mode)) return 0;
  set_err(errbuf, errlen, S_ISDIR(st->st_mode) ? strerror(EISDIR) : "not a regular file");
  return -1;
}

/* Reads the opened regular file fd through a window; see bz_media_probe_file_ex. */
static int probe_fd(int fd, int64_t fsize, int64_t max_read, bz_media_feed feed, void *ctx,
                    bz_media_info *out) {
  media_src s;
  int whole = fsize <= max_read;
  memset(&s, 0, sizeof s);
  s.fd = fd;
  s.feed = whole ? feed : NULL;
  s.ctx = ctx;
  s.limit = !whole ? max_read : (max_read == INT64_MAX ? INT64_MAX : max_read + 1);
  s.buf = (unsigned char *)malloc(WINDOW);
  if (s.buf == NULL) return ENOMEM;
  s.p = s.buf;
  probe(&s, out);
  while (whole && !s.eof && !s.err) { /* the rest, so the feed sees every byte */
    s.base += (int64_t)s.n;
    s.n = 0;
    fill(&s);
  }
  free(s.buf);
  if (s.err) return s.err;
  out->size = whole ? s.base + (int64_t)s.n : fsize;
  out->read_all = whole && out->size < s.limit;
  if (!out->read_all) out->complete = 0;
  return 0;
}

int bz_media_probe_file_ex(const char *path, int64_t max_read, bz_media_feed feed, void *ctx,
                           bz_media_info *out, char *errbuf, size_t errlen) {
  struct stat st;
  int fd, fl, e;

  memset(out, 0, sizeof *out);
  if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
  if (path == NULL || max_read < 0) {
    set_err(errbuf, errlen, strerror(EINVAL));
    return -1;
  }
  /* a FIFO or a device is never opened: open() itself can block or have effects */
  if (stat(path, &st) != 0) {
    set_err(errbuf, errlen, strerror(errno ? errno : EIO));
    return -1;
  }
  if (regular_only(&st, errbuf, errlen) != 0) return -1;
  fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    set_err(errbuf, errlen, strerror(errno ? errno : EIO));
    return -1;
  }
  /* judge what was opened: the path may have been swapped since stat() */
  if (fstat(fd, &st) != 0) {
    e = errno ? errno : EIO;
  } else if (regular_only(&st, errbuf, errlen) != 0) {
    close(fd);
    return -1;
  } else if ((fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
    e = errno ? errno : EIO;
  } else {
    e = probe_fd(fd, (int64_t)st.st_size, max_read, feed, ctx, out);
  }
  close(fd);
  if (e != 0) {
    memset(out, 0, sizeof *out);
    set_err(errbuf, errlen, strerror(e));
    return -1;
  }
  return 0;
}

int bz_media_probe_file(const char *path, bz_media_info *out, char *errbuf, size_t errlen) {
  return bz_media_probe_file_ex(path, INT64_MAX, NULL, NULL, out, errbuf, errlen);
}

const char *bz_media_mime(bz_media_type t) {
  switch (t) {
    case BZ_MEDIA_PNG: return "image/png";
    case BZ_MEDIA_JPEG: return "image/jpeg";
    case BZ_MEDIA_PDF: return "application/pdf";
    case BZ_MEDIA_TIFF: return "image/tiff";
    case BZ_MEDIA_ZIP: return "application/zip";
    default: return "application/octet-stream";
  }
}

const char *bz_media_ext(bz_media_type t) {
  switch (t) {
    case BZ_MEDIA_PNG: return "png";
    case BZ_MEDIA_JPEG: return "jpg";
    case BZ_MEDIA_PDF: return "pdf";
    case BZ_MEDIA_TIFF: return "tif";
    case BZ_MEDIA_ZIP: return "zip";
    default: return "bin";
  }
}
