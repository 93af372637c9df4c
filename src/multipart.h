/* multipart/form-data writer (RFC 7578, CRLF line ends) into a bz_body.
 * Plain C, non-raising, no global state.
 *
 * Bytes of one part:
 *   --<boundary>\r\n
 *   Content-Disposition: form-data; name="<name>"[; filename="<filename>"]\r\n
 *   [Content-Type: <ctype>\r\n]
 *   \r\n
 *   <data>\r\n
 * and after the last part (bz_mp_finish):
 *   --<boundary>--\r\n
 *
 * name and filename keep their bytes (UTF-8 stays UTF-8) except that '"', CR,
 * LF and '\' become '_', so no value can break the header; nothing is
 * percent-encoded (receivers disagree on decoding it).
 *
 * Return values of the part writers and bz_mp_finish:
 *    0  ok
 *   -1  out of memory (or the body would exceed INT64_MAX bytes)
 *   -2  invalid argument: NULL boundary/name/path, boundary failing
 *       bz_mp_boundary_ok, ctype empty or containing control characters,
 *       negative size, or in-memory data containing the delimiter
 *       ("--<boundary>" at its start or right after a LF).
 * On any error the body is left exactly as it was before the call. */
#ifndef BZ_MULTIPART_H
#define BZ_MULTIPART_H

#include <stddef.h>
#include <stdint.h>
#include "body.h"

#define BZ_BOUNDARY_LEN 40

/* "----bizreg" + 30 random [0-9A-Za-z] (getrandom(), else /dev/urandom),
 * NUL-terminated. 0 ok; -1 when no randomness is available (out = ""). */
int bz_mp_boundary(char out[BZ_BOUNDARY_LEN + 1]);

/* 1 if b is a valid RFC 2046 boundary: 1..70 characters from
 * DIGIT ALPHA ' ( ) + _ , - . / : = ? and space, not ending in space; else 0. */
int bz_mp_boundary_ok(const char *b);

/* A plain field. ctype NULL: no Content-Type line. data may be NULL if len == 0. */
int bz_mp_field(bz_body *b, const char *boundary, const char *name, const char *ctype,
                const char *data, size_t len);

/* A file part from memory the body does not copy. filename NULL: no filename parameter;
 * ctype NULL: no Content-Type line (RFC 7578 then implies text/plain, so pass one for
 * files). data must stay valid while the body is read (anchor: bz_body_anchor's number of the Lua string holding it; 0 when the
 * caller keeps it alive otherwise). */
int bz_mp_file_ref(bz_body *b, const char *boundary, const char *name, const char *filename,
                   const char *ctype, const char *data, size_t len, int anchor);

/* Exact sizes, for reserving a body's memory once: the head of a part (from its
 * "--<boundary>" to the blank line; has_filename 0: no filename parameter), and the
 * closing delimiter. A part is head + data + 2 (CRLF) bytes. */
size_t bz_mp_head_len(const char *boundary, const char *name, int has_filename, size_t filename_len,
                      const char *ctype);
size_t bz_mp_finish_len(const char *boundary);

/* A file part whose content is read from path at send time. size is the size seen
 * at validation; the reader fails if the file no longer has exactly that size.
 * The file content is not scanned for the delimiter (use a random boundary). With a
 * key, the reader also checks the file's bytes against tag, their fingerprint under
 * key when validation read them (see bz_body_add_file_checked); key, tag NULL: no check. */
int bz_mp_file_path_checked(bz_body *b, const char *boundary, const char *name, const char *filename,
                            const char *ctype, const char *path, int64_t size, const unsigned char *key,
                            const unsigned char *tag);

/* The filename a file part is sent with: the stem of given's last '/'-separated
 * component (everything before its last '.'), then "." and ext, so the extension always
 * matches the content; fallback when that stem is empty. '"', CR, LF and '\' become
 * '_'. Like snprintf: writes at most cap bytes (NUL included; out may be NULL when cap
 * is 0) and returns the length of the whole name. */
size_t bz_mp_filename(char *out, size_t cap, const char *given, const char *fallback, const char *ext);

/* Closing delimiter; sets b->content_type = "multipart/form-data; boundary=<boundary>"
 * (the boundary is quoted when it contains characters that are not allowed in a
 * header token, e.g. space, '/', ':', '=', '?', '(', ')', ','). */
int bz_mp_finish(bz_body *b, const char *boundary);

#endif
