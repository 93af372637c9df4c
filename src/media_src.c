/* The source the media probers read (media_src.h): a memory range, or a regular file read
 * strictly forward through a window, each byte read once and in order and handed to the
 * caller's feed. Below media_image.c and media.c; calls no other file of src/. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "media_src.h"

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
const unsigned char *bz_src_at(media_src *s, int64_t off, size_t want, size_t *got) {
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

void bz_src_drain(media_src *s) {
  while (s->fd >= 0 && !s->eof && !s->err) {
    s->base += (int64_t)s->n;
    s->n = 0;
    fill(s);
  }
}
