/* Media sniffing by magic bytes; PNG (IHDR) and JPEG (SOFn) dimensions.
 * One prober works on an abstract source (memory range or FILE*) read with
 * bounds-checked positioned reads, so memory and file paths share all logic. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "media.h"

/* Upper bound on JPEG marker segments visited before giving up on finding SOFn.
 * Real files have a few dozen; this only caps the work on crafted input. */
#define JPEG_MAX_SEGMENTS 100000

typedef struct media_src {
  const unsigned char *p;  /* memory source (fp == NULL) */
  size_t n;
  FILE *fp;                /* file source */
  int err;                 /* errno of a failed seek/read; sticky */
} media_src;

/* Copies up to len bytes starting at offset off. Returns the count copied,
 * short (possibly 0) at the end of the data or on error (s->err set). */
static size_t src_read(media_src *s, int64_t off, unsigned char *dst, size_t len) {
  size_t got;
  if (off < 0 || s->err) return 0;
  if (s->fp == NULL) {
    size_t avail;
    if ((uint64_t)off >= (uint64_t)s->n) return 0;
    avail = s->n - (size_t)off;
    if (len > avail) len = avail;
    if (len > 0) memcpy(dst, s->p + (size_t)off, len);
    return len;
  }
  if ((int64_t)(off_t)off != off) return 0; /* beyond what this platform can seek */
  errno = 0;
  if (fseeko(s->fp, (off_t)off, SEEK_SET) != 0) {
    s->err = errno ? errno : EIO;
    return 0;
  }
  errno = 0;
  got = fread(dst, 1, len, s->fp);
  if (got < len && ferror(s->fp)) {
    s->err = errno ? errno : EIO;
    return 0;
  }
  return got;
}

static uint32_t be16(const unsigned char *p) { return ((uint32_t)p[0] << 8) | (uint32_t)p[1]; }

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static const unsigned char PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

/* h holds the first n bytes. The first chunk must be a complete IHDR:
 * length 13, type "IHDR", 13 data bytes present; width/height 1..2^31-1 (PNG spec).
 * The CRC is not checked. */
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

static int jpeg_is_sof(unsigned m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

static int jpeg_is_standalone(unsigned m) {
  return (m >= 0xD0 && m <= 0xD7) || m == 0x01 || m == 0xD8;
}

/* Walks marker segments after SOI (offset 2) until SOFn, SOS, EOI, corrupt data
 * or the end. Segments are skipped by their length field, so large APPn/EXIF
 * blocks cost one seek. */
static void jpeg_dims(media_src *s, bz_media_info *out) {
  int64_t pos = 2;
  int seg;
  for (seg = 0; seg < JPEG_MAX_SEGMENTS; seg++) {
    unsigned char w[16], h[7];
    size_t got, i;
    unsigned m;
    uint32_t len;

    got = src_read(s, pos, w, sizeof w);
    if (got < 2 || w[0] != 0xFF) return; /* end of data, or not at a marker */
    for (i = 1; i < got && w[i] == 0xFF; i++) {
    } /* fill bytes */
    if (i == got) { /* window is all 0xFF: slide, keeping one 0xFF at pos */
      pos += (int64_t)(got - 1);
      continue;
    }
    m = w[i];
    pos += (int64_t)i + 1; /* just past the marker byte */
    if (jpeg_is_standalone(m)) continue;
    if (m == 0x00 || m == 0xD9 || m == 0xDA) return; /* stuffed zero (corrupt), EOI, SOS */

    got = src_read(s, pos, h, sizeof h);
    if (got < 2) return;
    len = be16(h); /* includes its own two bytes */
    if (len < 2) return;
    if (jpeg_is_sof(m)) {
      uint32_t height, width;
      /* Lf(2) P(1) Y(2) X(2) Nf(1): a valid SOF is at least 8 bytes long */
      if (len < 8 || got < 7) return;
      height = be16(h + 3);
      width = be16(h + 5);
      if (width == 0 || height == 0) return; /* height 0: defined later by DNL */
      out->has_dims = 1;
      out->width = width;
      out->height = height;
      return;
    }
    pos += (int64_t)len;
  }
}

static void probe(media_src *s, bz_media_info *out) {
  unsigned char h[32];
  size_t n = src_read(s, 0, h, sizeof h);

  if (n >= 8 && memcmp(h, PNG_SIG, 8) == 0) {
    out->type = BZ_MEDIA_PNG;
    png_dims(h, n, out);
  } else if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
    out->type = BZ_MEDIA_JPEG;
    jpeg_dims(s, out);
  } else if (n >= 5 && memcmp(h, "%PDF-", 5) == 0) {
    out->type = BZ_MEDIA_PDF;
  } else if (n >= 4 && ((h[0] == 'I' && h[1] == 'I' && h[2] == 42 && h[3] == 0) ||
                        (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && h[3] == 42))) {
    out->type = BZ_MEDIA_TIFF;
  } else if (n >= 4 && h[0] == 'P' && h[1] == 'K' &&
             ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6) || (h[2] == 7 && h[3] == 8))) {
    out->type = BZ_MEDIA_ZIP;
  }
}

void bz_media_probe_mem(const unsigned char *p, size_t n, bz_media_info *out) {
  media_src s;
  memset(out, 0, sizeof *out);
  memset(&s, 0, sizeof s);
  if (p == NULL) n = 0;
  s.p = p;
  s.n = n;
  probe(&s, out);
  out->size = (int64_t)n;
}

static void set_err(char *errbuf, size_t errlen, int e) {
  if (errbuf != NULL && errlen > 0) snprintf(errbuf, errlen, "%s", strerror(e));
}

int bz_media_probe_file(const char *path, bz_media_info *out, char *errbuf, size_t errlen) {
  media_src s;
  struct stat st;
  FILE *fp;
  int64_t size;
  int e;

  memset(out, 0, sizeof *out);
  if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
  if (path == NULL) {
    set_err(errbuf, errlen, EINVAL);
    return -1;
  }
  errno = 0;
  fp = fopen(path, "rb");
  if (fp == NULL) {
    set_err(errbuf, errlen, errno ? errno : EIO);
    return -1;
  }
  if (fstat(fileno(fp), &st) != 0) {
    e = errno ? errno : EIO;
    goto fail;
  }
  if (S_ISDIR(st.st_mode)) {
    e = EISDIR;
    goto fail;
  }
  if (S_ISREG(st.st_mode)) {
    size = (int64_t)st.st_size;
  } else {
    off_t end;
    errno = 0;
    if (fseeko(fp, 0, SEEK_END) != 0 || (end = ftello(fp)) < 0) {
      e = errno ? errno : EIO;
      goto fail;
    }
    size = (int64_t)end;
  }

  memset(&s, 0, sizeof s);
  s.fp = fp;
  probe(&s, out);
  if (s.err) {
    e = s.err;
    goto fail;
  }
  out->size = size;
  fclose(fp);
  return 0;

fail:
  fclose(fp);
  memset(out, 0, sizeof *out);
  set_err(errbuf, errlen, e);
  return -1;
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
    case BZ_MEDIA_TIFF: return "tiff";
    case BZ_MEDIA_ZIP: return "zip";
    default: return "bin";
  }
}
