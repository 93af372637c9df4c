/* Media sniffing by magic bytes, the entry points of media.h: opens the source (a memory
 * range, or a regular file read through media_src.c's window) and hands PNG and JPEG to
 * their probers (media_image.c), which read the same source. Layers: media_src.c <-
 * media_image.c <- media.c; every byte is read once and in order (and handed to the
 * caller's feed), so the bytes judged are exactly the bytes fed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "media_src.h"

/* ---- probe ------------------------------------------------------------------ */

static void probe(media_src *s, bz_media_info *out) {
  unsigned char h[32];
  size_t n;
  const unsigned char *p = bz_src_at(s, 0, sizeof h, &n);
  if (p) memcpy(h, p, n);

  if (n >= 8 && memcmp(h, BZ_PNG_SIG, 8) == 0) {
    bz_png_probe(s, h, n, out);
  } else if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
    bz_jpeg_probe(s, out);
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
  if (whole) bz_src_drain(&s);  /* the rest, so the feed sees every byte */
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
