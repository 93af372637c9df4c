/* Internal to media.c, media_image.c and media_src.c: the source the probers read (a
 * memory range, or a regular file read strictly forward through a window). */
#ifndef BZ_MEDIA_SRC_H
#define BZ_MEDIA_SRC_H

#include <stdint.h>
#include "media.h"

#define BZ_PNG_SIG "\x89PNG\r\n\x1a\n"
#define STEP 4096  /* largest request to bz_src_at; keeps window moves cheap */
#define WINDOW (64 * 1024) /* file window (media.c allocates it, media_src.c fills it) */

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

/* media_src.c: pointer to the bytes at offset off, *got = how many (<= want, <= 4096); fewer than
 * asked only at the end of the data or on an error. Valid until the next call. Offsets
 * never go back before the last request's offset (the probers read forward). */
const unsigned char *bz_src_at(media_src *s, int64_t off, size_t want, size_t *got);

/* media_src.c: reads a file source on to its end or limit (feeding every byte); the
 * window then holds the last bytes read (size = base + n). No-op for memory. */
void bz_src_drain(media_src *s);

/* media_image.c: PNG (dimensions from the first bytes h[0..n), then the chunk walk
 * with CRCs) and JPEG (markers to a complete scan and EOI). */
void bz_png_probe(media_src *s, const unsigned char *h, size_t n, bz_media_info *out);
void bz_jpeg_probe(media_src *s, bz_media_info *out);

#endif
