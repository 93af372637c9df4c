/* Media sniffing: file type from magic bytes (never from the name) and, for
 * PNG and JPEG, the pixel dimensions. No image library; plain C, no Lua,
 * no global state, never raises. */
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
  int64_t size;             /* bytes: n for memory, file size for a file */
} bz_media_info;

/* Sniff type by magic bytes and, for PNG/JPEG, read dimensions.
 * Any input is accepted (p may be NULL when n == 0); never reads past p[n-1]. */
void bz_media_probe_mem(const unsigned char *p, size_t n, bz_media_info *out);

/* Same for a file. Size via fstat (fseek/ftell for non-regular files); reads only
 * what it needs (JPEG: walks the marker segments with fseek, never loads the file).
 * 0 on success (a truncated or unknown file is a success with has_dims 0 / UNKNOWN);
 * -1 if the file cannot be opened, is a directory, or a read fails: errbuf (if
 * non-NULL) then gets the strerror() text only, e.g. "No such file or directory". */
int bz_media_probe_file(const char *path, bz_media_info *out, char *errbuf, size_t errlen);

/* "image/png", "image/jpeg", "application/pdf", "image/tiff", "application/zip";
 * "application/octet-stream" for BZ_MEDIA_UNKNOWN / anything else. */
const char *bz_media_mime(bz_media_type t);
/* "png", "jpg", "pdf", "tiff", "zip"; "bin" otherwise. */
const char *bz_media_ext(bz_media_type t);

#endif
