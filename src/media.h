/* Media sniffing: file type from magic bytes (never from the name), for PNG and
 * JPEG the pixel dimensions and whether the structure a decoder needs is there.
 * No image library; plain C, no Lua, no global state, never raises. */
#ifndef BZ_MEDIA_H
#define BZ_MEDIA_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  BZ_MEDIA_UNKNOWN = 0,
  BZ_MEDIA_PNG,
  BZ_MEDIA_JPEG,
  BZ_MEDIA_PDF,
  BZ_MEDIA_TIFF,
  BZ_MEDIA_ZIP
} bz_media_type;

typedef struct {
  bz_media_type type;
  int has_dims;             /* 1 when width/height were read (PNG IHDR, JPEG SOFn) */
  uint32_t width, height;   /* 0 unless has_dims */
  int64_t size;             /* bytes: n for memory; for a file the bytes read (see below) */
  /* 1 when a decoder has what it needs:
   *  PNG : IHDR first (13 bytes, valid depth/colour/method fields), PLTE before the
   *        first IDAT for indexed colour, one run of consecutive IDAT chunks, IEND;
   *        every chunk's CRC valid; chunk types 4 ASCII letters, lengths < 2^31.
   *  JPEG: SOI, one SOFn with non-zero size before the first SOS, at least one scan
   *        (entropy-coded data walked to its end), EOI; no stray SOI / stuffed zero.
   *  Bytes after IEND / EOI are ignored. PDF, TIFF, ZIP: 1 (only the magic is judged).
   *  Unknown: 0. */
  int complete;
  int read_all;             /* file probes: every byte up to EOF was read (and fed) */
} bz_media_info;

/* Sniff type by magic bytes and, for PNG/JPEG, read dimensions and structure.
 * Any input is accepted (p may be NULL when n == 0); never reads past p[n-1]. */
void bz_media_probe_mem(const unsigned char *p, size_t n, bz_media_info *out);

/* Receives every byte of a probed file exactly once, in file order, as it is read:
 * the bytes fed are the bytes judged (callers hash them; see body.h). */
typedef void (*bz_media_feed)(void *ctx, const unsigned char *p, size_t n);

/* Same for a file. Only regular files are read: the path is stat()ed first and a
 * FIFO, device, socket or directory is refused without being opened; the file is
 * then opened with O_NONBLOCK and fstat()ed again (the path may have been swapped),
 * so nothing here can block on a FIFO. The file is read strictly forward, once:
 *  - fstat size <= max_read: read to EOF (at most max_read + 1 bytes); size = bytes
 *    read, read_all = 1 unless the file grew past max_read while being read;
 *  - otherwise only the first max_read bytes are looked at; size = fstat size,
 *    read_all = 0 and complete = 0 (the caller reports the file as too large).
 * 0 on success (a truncated or unknown file is a success with complete 0 / UNKNOWN);
 * -1 if the file cannot be opened, is not a regular file, or a read fails: errbuf
 * (if non-NULL) then gets "not a regular file" or the strerror() text only, e.g.
 * "No such file or directory", "Is a directory". */
int bz_media_probe_file_ex(const char *path, int64_t max_read, bz_media_feed feed, void *ctx,
                           bz_media_info *out, char *errbuf, size_t errlen);
/* bz_media_probe_file_ex(path, INT64_MAX, NULL, NULL, ...): the whole file. */
int bz_media_probe_file(const char *path, bz_media_info *out, char *errbuf, size_t errlen);

/* "image/png", "image/jpeg", "application/pdf", "image/tiff", "application/zip";
 * "application/octet-stream" for BZ_MEDIA_UNKNOWN / anything else. */
const char *bz_media_mime(bz_media_type t);
/* "png", "jpg", "pdf", "tif", "zip"; "bin" otherwise (the extension a sent filename gets). */
const char *bz_media_ext(bz_media_type t);

#endif
