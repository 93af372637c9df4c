/* libcurl transport: one reusable easy handle per client and the multi
 * interface driving several of them without blocking. Files, each calling only
 * files listed above it (src/README.md):
 *   curlerr.c   CURLcode names and raw error tables
 *   callbacks.c the libcurl callbacks of a transfer
 *   response.c  the result or error table of a finished transfer
 *   request.c   one transfer on a handle: check, set-up (bz_http_prepare), begin/end
 *   multi.c     the multi interface (jobs)
 *   easy.c      handle lifetime and options, blocking h:request(); a handle closed
 *               while in a multi leaves it (bz_multi_forget)
 *
 * Lua API (registered by core.c):
 *   core.http(opts) -> h         h:request(req) -> res | nil, err
 *                                h:close(), h:closed()
 *   core.multi() -> m            m:add(h, req) -> true | nil, err
 *                                m:poll(max_wait_seconds) -> { {handle=, res=, err=}, ... }
 *                                m:count(), m:close(), m:closed()
 *   core.curl_version() -> string
 *
 * Rules kept by both files: no Lua error is ever raised between the entry to
 * curl_easy_perform / curl_multi_perform and their return (Lua callbacks run
 * under lua_pcall, memory in callbacks comes from malloc with failure checks),
 * no static mutable state, request header values never reach an error message. */
#ifndef BZ_HTTP_H
#define BZ_HTTP_H

#include <curl/curl.h>
#include "body.h"
#include "buf.h"
#include "compat.h"

#define BZ_HTTP_MT "bizreg.http"

/* Defaults of the C transport (the Lua client passes its own options down). */
#define BZ_DEFAULT_TIMEOUT 30.0
#define BZ_DEFAULT_CONNECT_TIMEOUT 10.0
#define BZ_DEFAULT_MAX_BODY ((size_t)8 * 1024 * 1024)
/* Idle seconds after which a kept-alive connection is not reused: below common server
 * keep-alive timeouts (Apache/Node 5 s), so a server rarely closes one while we write. */
#define BZ_DEFAULT_MAX_IDLE 4.0
/* Whole last header block; below libcurl's own total (300 KiB since 7.84) so that an
 * oversized block is ours to report as RESPONSE_TOO_LARGE. */
#define BZ_MAX_HEADER_BYTES ((size_t)256 * 1024)
#define BZ_MAX_SECONDS 2147483.0          /* keeps milliseconds inside a 32-bit long */
#define BZ_SHRINK_ABOVE ((size_t)256 * 1024)  /* response buffers bigger than this are freed after use */
#define BZ_MULTI_MT "bizreg.multi"

void bz_http_open(lua_State *L);    /* metatables "bizreg.http" and "bizreg.multi"; curl_global_init */
int bz_http_new(lua_State *L);      /* core.http(opts) -> handle */
int bz_multi_new(lua_State *L);     /* core.multi() -> multi */
int bz_curl_version(lua_State *L);  /* core.curl_version() -> string */

/* ---- internal: shared by the transport's files only ------------------------ */

enum { BZ_IDLE = 0, BZ_BUSY_SYNC = 1, BZ_BUSY_MULTI = 2 };
enum { BZ_FAIL_NONE = 0, BZ_FAIL_TOO_LARGE, BZ_FAIL_OOM, BZ_FAIL_BODY, BZ_FAIL_CALLBACK, BZ_FAIL_NO_RESEND };
enum { BZ_SEND_NONE = 0, BZ_SEND_STRING, BZ_SEND_STREAM };
enum { BZ_MODE_UNKNOWN = 0, BZ_MODE_POST, BZ_MODE_GET, BZ_MODE_HEAD };

/* Lua stack slots a transfer may use above the caller's top while a callback
 * runs; reserved (luaL_checkstack) before curl is entered. */
#define BZ_CB_STACK 8

struct bz_multi;

typedef struct bz_http {
  CURL *easy;                 /* NULL once closed */
  int busy;                   /* BZ_IDLE / BZ_BUSY_SYNC / BZ_BUSY_MULTI */
  struct bz_multi *multi;     /* set while BZ_BUSY_MULTI */
  lua_Integer multi_id;       /* key of this transfer's anchors in the multi's user value */
  size_t max_body;            /* max_response_bytes */
  long timeout_ms;            /* the handle's timeout; a request's req.timeout overrides it once */

  /* ---- per transfer (reset by bz_http_prepare) ---- */
  lua_State *L;               /* state whose stack the callbacks use; NULL outside perform/poll */
  int fn_idx;                 /* sync: stack index of on_progress; 0 in multi mode */
  int anchors_idx;            /* multi: stack index of the anchors table during poll */
  int progress;               /* on_progress was given */
  curl_off_t last_ul;         /* last upload count reported to on_progress */
  int send_kind;              /* BZ_SEND_* */
  const bz_body *body;        /* BZ_SEND_STREAM: the body (anchored by the caller) */
  const char *str;            /* BZ_SEND_STRING: the Lua string (anchored by the caller) */
  bz_body_reader rd;
  int rd_open;
  int64_t up_total, up_read;  /* request body size; bytes handed to curl */
  bz_buf hlines;              /* request header lines, NUL-terminated (request.c; reused) */
  struct curl_slist *hnodes;  /* the CURLOPT_HTTPHEADER list over hlines (reused, hnodes_cap) */
  size_t hnodes_cap;
  bz_buf resp;                /* response body */
  bz_buf hdrs;                /* last header block: "name\0value\0" pairs, names lower-case */
  int in_headers;             /* between a status line and the blank line ending its headers */
  int attempts;               /* requests libcurl started in this transfer (prereq_cb) */
  int fail;                   /* BZ_FAIL_*: our own reason for aborting */
  char msg[256];              /* detail for fail */
  char errbuf[CURL_ERROR_SIZE];
} bz_http;

/* request.c: checks that idx is an open handle (raises otherwise). */
bz_http *bz_http_check(lua_State *L, int idx);

/* Reads and validates the request table at index req and sets every
 * per-request option on h (h must be idle). May raise for wrong argument types.
 * req.timeout (seconds, optional): this request's whole-transfer timeout instead of the
 * handle's. Returns 0 on success, with 5 values pushed: method, url, headers, body,
 * on_progress (so body is at top-1 and on_progress at top; keep them anchored
 * while the transfer runs). Returns 2 when the request was refused without
 * sending (BAD_HEADER, OUT_OF_MEMORY), with nil, err pushed. */
int bz_http_prepare(lua_State *L, bz_http *h, int req);

/* request.c, plain C, non-raising: right before the transfer starts / after it ended or was
 * abandoned (closes the body reader, turns the Lua callback off). */
void bz_http_begin(bz_http *h);
void bz_http_end(bz_http *h);

/* After a transfer ended with rc: pushes two values, res and err (one of them nil).
 * res.headers is built on first access (most callers never read it): until then res
 * keeps the header block as one string. */
void bz_http_push_outcome(lua_State *L, bz_http *h, CURLcode rc);
/* response.c: registers the metatable of result tables (called by bz_http_open). */
void bz_response_open(lua_State *L);

/* curlerr.c */
const char *bz_curle_name(CURLcode rc, char *tmp, size_t n);
void bz_push_err(lua_State *L, const char *code, int curl_code, const char *message, int sent);
int bz_push_refused(lua_State *L, const char *code, const char *message);  /* nil, err; returns 2 */

/* callbacks.c: sets every callback of a transfer on e, with h as their data. */
CURLcode bz_http_callbacks(CURL *e, bz_http *h);
/* Bytes of the request written so far (headers + body), from libcurl's counters. */
int64_t bz_sent_bytes(bz_http *h);

/* request.c: seconds -> milliseconds, rounded up (never 0 for a positive time). */
long bz_seconds_to_ms(double s);

/* multi.c: registers the "bizreg.multi" metatable (called by bz_http_open). */
void bz_multi_open(lua_State *L);

/* multi.c: a handle that is being closed while attached to m leaves it
 * (non-raising; the transfer is dropped and not reported by poll). */
void bz_multi_forget(struct bz_multi *m, bz_http *h);

#endif
