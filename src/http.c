/* libcurl easy handle per client (see http.h). The handle is reused for every
 * request so sequential requests share one keep-alive connection; every
 * per-request option is set again by bz_http_prepare. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"

#define DEFAULT_TIMEOUT 30.0
#define DEFAULT_CONNECT_TIMEOUT 10.0
#define DEFAULT_MAX_BODY ((size_t)8 * 1024 * 1024)
/* Idle seconds after which a kept-alive connection is not reused: below common server
 * keep-alive timeouts (Apache/Node 5 s), so a server rarely closes one while we write. */
#define DEFAULT_MAX_IDLE 4.0
/* Whole last header block; below libcurl's own total (300 KiB since 7.84) so that an
 * oversized block is ours to report as RESPONSE_TOO_LARGE. */
#define MAX_HEADER_BYTES ((size_t)256 * 1024)
#define MAX_SECONDS 2147483.0                  /* keeps milliseconds inside a 32-bit long */
#define SHRINK_ABOVE ((size_t)256 * 1024)      /* response buffers bigger than this are freed after use */

/* ---- error names ---------------------------------------------------------- */

static const char *curle_name(CURLcode rc, char *tmp, size_t n) {
  switch (rc) {
#define N(x) case CURLE_##x: return #x;
    N(UNSUPPORTED_PROTOCOL) N(FAILED_INIT) N(URL_MALFORMAT) N(NOT_BUILT_IN)
    N(COULDNT_RESOLVE_PROXY) N(COULDNT_RESOLVE_HOST) N(COULDNT_CONNECT)
    N(WEIRD_SERVER_REPLY) N(REMOTE_ACCESS_DENIED) N(HTTP2) N(PARTIAL_FILE)
    N(HTTP_RETURNED_ERROR) N(WRITE_ERROR) N(UPLOAD_FAILED) N(READ_ERROR)
    N(OUT_OF_MEMORY) N(OPERATION_TIMEDOUT) N(RANGE_ERROR) N(HTTP_POST_ERROR)
    N(SSL_CONNECT_ERROR) N(BAD_DOWNLOAD_RESUME) N(FUNCTION_NOT_FOUND)
    N(ABORTED_BY_CALLBACK) N(BAD_FUNCTION_ARGUMENT) N(INTERFACE_FAILED)
    N(TOO_MANY_REDIRECTS) N(UNKNOWN_OPTION) N(GOT_NOTHING)
#if BZ_CURL_AT_LEAST(7, 78)
    N(SETOPT_OPTION_SYNTAX)
#endif
    N(SSL_ENGINE_NOTFOUND) N(SSL_ENGINE_SETFAILED) N(SEND_ERROR) N(RECV_ERROR)
    N(SSL_CERTPROBLEM) N(SSL_CIPHER) N(PEER_FAILED_VERIFICATION) N(BAD_CONTENT_ENCODING)
    N(FILESIZE_EXCEEDED) N(SEND_FAIL_REWIND) N(SSL_ENGINE_INITFAILED) N(LOGIN_DENIED)
    N(SSL_CACERT_BADFILE) N(SSL_SHUTDOWN_FAILED) N(AGAIN) N(SSL_CRL_BADFILE)
    N(SSL_ISSUER_ERROR) N(CHUNK_FAILED) N(NO_CONNECTION_AVAILABLE) N(SSL_PINNEDPUBKEYNOTMATCH)
    N(SSL_INVALIDCERTSTATUS) N(HTTP2_STREAM) N(RECURSIVE_API_CALL) N(AUTH_ERROR)
    N(HTTP3)
#if BZ_CURL_AT_LEAST(7, 69)
    N(QUIC_CONNECT_ERROR)
#endif
#if BZ_CURL_AT_LEAST(7, 73)
    N(PROXY)
#endif
#if BZ_CURL_AT_LEAST(7, 77)
    N(SSL_CLIENTCERT)
#endif
#if BZ_CURL_AT_LEAST(7, 84)
    N(UNRECOVERABLE_POLL)
#endif
#if BZ_CURL_AT_LEAST(8, 6)
    N(TOO_LARGE)
#endif
#undef N
    default: break;
  }
  snprintf(tmp, n, "CURLE_%d", (int)rc);
  return tmp;
}

/* ---- small helpers -------------------------------------------------------- */

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int is_tchar(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Escapes a header name for an error message: printable ASCII kept, the rest as \r \n \0 \xHH. */
static void escape_name(char *dst, size_t dn, const char *s, size_t n) {
  size_t o = 0, i;
  for (i = 0; i < n && o + 5 < dn; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r') { dst[o++] = '\\'; dst[o++] = 'r'; }
    else if (c == '\n') { dst[o++] = '\\'; dst[o++] = 'n'; }
    else if (c == 0) { dst[o++] = '\\'; dst[o++] = '0'; }
    else if (c < 0x20 || c >= 0x7f || c == '\\') o += (size_t)snprintf(dst + o, dn - o, "\\x%02X", c);
    else dst[o++] = (char)c;
  }
  if (i < n && o + 4 <= dn) { memcpy(dst + o, "...", 3); o += 3; }
  dst[o] = '\0';
}

/* err = { code=, curl_code=, message=, sent= }; curl_code < 0: field left out. */
static void push_err(lua_State *L, const char *code, int curl_code, const char *message, int sent) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  if (curl_code >= 0) {
    lua_pushinteger(L, curl_code);
    lua_setfield(L, -2, "curl_code");
  }
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  lua_pushboolean(L, sent);
  lua_setfield(L, -2, "sent");
}

/* ---- curl callbacks (plain C: never raise) ---------------------------------- */

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud) {
  bz_http *h = (bz_http *)ud;
  size_t n = size * nmemb;
  if (n > h->max_body - h->resp.len) {  /* invariant: resp.len <= max_body */
    h->fail = BZ_FAIL_TOO_LARGE;
    return 0;
  }
  if (bz_buf_append(&h->resp, p, n) != 0) {
    h->fail = BZ_FAIL_OOM;
    return 0;
  }
  return n;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Appends s[0..n) with NUL bytes turned into spaces, then a terminating NUL. */
static int hdr_put(bz_buf *b, const char *s, size_t n, int lowercase) {
  size_t i;
  char *d;
  if (bz_buf_reserve(b, n + 1) != 0) return -1;
  d = b->p + b->len;
  for (i = 0; i < n; i++) {
    char c = s[i];
    d[i] = c == '\0' ? ' ' : (lowercase ? lower(c) : c);
  }
  d[n] = '\0';
  b->len += n + 1;
  return 0;
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *ud) {
  bz_http *h = (bz_http *)ud;
  size_t len = size * nmemb, end = len, nend, vstart;
  const char *colon;
  while (end > 0 && (p[end - 1] == '\r' || p[end - 1] == '\n')) end--;
  if (end >= 5 && memcmp(p, "HTTP/", 5) == 0) {  /* a new response: keep only the last block */
    h->hdrs.len = 0;
    h->in_headers = 1;
    return len;
  }
  if (end == 0) {
    h->in_headers = 0;
    return len;
  }
  if (h->hdrs.len + end + 2 > MAX_HEADER_BYTES) {
    h->fail = BZ_FAIL_TOO_LARGE;
    snprintf(h->msg, sizeof h->msg, "response headers exceed %lu bytes", (unsigned long)MAX_HEADER_BYTES);
    return 0;
  }
  while (end > 0 && is_ws(p[end - 1])) end--;
  if (p[0] == ' ' || p[0] == '\t') {  /* obsolete line folding: continues the previous value */
    size_t s = 0;
    while (s < end && is_ws(p[s])) s++;
    if (h->hdrs.len == 0 || s == end) return len;
    h->hdrs.p[h->hdrs.len - 1] = ' ';
    if (hdr_put(&h->hdrs, p + s, end - s, 0) != 0) {
      h->hdrs.p[h->hdrs.len - 1] = '\0';
      h->fail = BZ_FAIL_OOM;
      return 0;
    }
    return len;
  }
  colon = (const char *)memchr(p, ':', end);
  if (colon == NULL) return len;
  nend = (size_t)(colon - p);
  while (nend > 0 && (p[nend - 1] == ' ' || p[nend - 1] == '\t')) nend--;
  if (nend == 0) return len;
  vstart = (size_t)(colon - p) + 1;
  while (vstart < end && is_ws(p[vstart])) vstart++;
  {
    size_t saved = h->hdrs.len;
    if (hdr_put(&h->hdrs, p, nend, 1) != 0 || hdr_put(&h->hdrs, p + vstart, end - vstart, 0) != 0) {
      h->hdrs.len = saved;
      h->fail = BZ_FAIL_OOM;
      return 0;
    }
  }
  return len;
}

/* Every request body goes through this callback, strings included: with
 * CURLOPT_POSTFIELDS libcurl could always replay a body by itself. */
static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud) {
  bz_http *h = (bz_http *)ud;
  size_t want = size * nmemb, got;
  int64_t left = h->up_total - h->up_read;
  if (left <= 0 || h->send_kind == BZ_SEND_NONE) return 0;
  if ((uint64_t)want > (uint64_t)left) want = (size_t)left;
  if (h->send_kind == BZ_SEND_STRING) {
    memcpy(dst, h->str + h->up_read, want);
    h->up_read += (int64_t)want;
    return want;
  }
  if (!h->rd_open) return 0;
  got = bz_reader_read(&h->rd, dst, want);
  if (got == (size_t)-1) {
    h->fail = BZ_FAIL_BODY;
    snprintf(h->msg, sizeof h->msg, "%s", h->rd.err[0] ? h->rd.err : "request body could not be read");
    return CURL_READFUNC_ABORT;
  }
  if (got == 0 || got > want) {
    h->fail = BZ_FAIL_BODY;
    snprintf(h->msg, sizeof h->msg, "request body ended after %lld of %lld bytes",
             (long long)h->up_read, (long long)h->up_total);
    return CURL_READFUNC_ABORT;
  }
  h->up_read += (int64_t)got;
  return got;
}

/* libcurl rewinds the body to send the request again: after a 3xx/401 (never
 * followed here), or when a reused connection died ("Connection died, retrying a
 * fresh connect"). Neither API has an idempotency key, so once any body byte was
 * handed to libcurl it may have reached the server: refuse, and the transfer
 * fails instead of sending the body twice. Before that, a fresh start is harmless. */
static int seek_cb(void *ud, curl_off_t offset, int origin) {
  bz_http *h = (bz_http *)ud;
  if (origin != SEEK_SET || offset != 0) return CURL_SEEKFUNC_FAIL;
  if (h->up_read > 0) {
    h->fail = BZ_FAIL_NO_RESEND;
    return CURL_SEEKFUNC_FAIL;
  }
  if (h->send_kind == BZ_SEND_STREAM) {
    if (h->rd_open) bz_reader_close(&h->rd);
    bz_reader_init(&h->rd, h->body);
    h->rd_open = 1;
  }
  return CURL_SEEKFUNC_OK;
}

static int64_t sent_bytes(bz_http *h);

#if BZ_CURL_AT_LEAST(7, 80)
/* Called before each request libcurl writes, its own retries on a fresh connection
 * included. seek_cb stops a second copy of body bytes; this stops a second request
 * head too once any byte of the first may have left (the stale-connection case, where
 * nothing was written, still gets its fresh connection). */
static int prereq_cb(void *ud, char *ip, char *local_ip, int port, int local_port) {
  bz_http *h = (bz_http *)ud;
  (void)ip; (void)local_ip; (void)port; (void)local_port;
  if (h->attempts++ > 0 && sent_bytes(h) > 0) {
    h->fail = BZ_FAIL_NO_RESEND;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}
#endif

/* Upload progress -> on_progress(sent, total) under lua_pcall. Only calls that
 * cannot raise are made outside the protected call (the stack space was
 * reserved before curl was entered; rawget/pushvalue/pushinteger do not allocate). */
static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  bz_http *h = (bz_http *)ud;
  lua_State *L = h->L;
  int top, status;
  (void)dltotal; (void)dlnow; (void)ultotal;
  if (h->fail == BZ_FAIL_CALLBACK) return 1;
  if (!h->progress || L == NULL || ulnow <= h->last_ul) return 0;
  h->last_ul = ulnow;
  top = lua_gettop(L);
  if (h->fn_idx > 0) {
    lua_pushvalue(L, h->fn_idx);
  } else if (h->anchors_idx > 0) {
    lua_pushinteger(L, h->multi_id);
    lua_rawget(L, h->anchors_idx);
    if (lua_type(L, -1) != LUA_TTABLE) { lua_settop(L, top); return 0; }
    lua_rawgeti(L, -1, 3);
  } else {
    return 0;
  }
  if (lua_type(L, -1) != LUA_TFUNCTION) { lua_settop(L, top); return 0; }
  lua_pushinteger(L, (lua_Integer)ulnow);
  lua_pushinteger(L, (lua_Integer)h->up_total);
  status = lua_pcall(L, 2, 0, 0);
  if (status != 0) {
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING) {
      snprintf(h->msg, sizeof h->msg, "on_progress raised an error: %s", lua_tostring(L, -1));
    } else if (t == LUA_TNUMBER) {
      snprintf(h->msg, sizeof h->msg, "on_progress raised an error: %.14g", (double)lua_tonumber(L, -1));
    } else {
      snprintf(h->msg, sizeof h->msg, "on_progress raised an error (error object is a %s value)", lua_typename(L, t));
    }
    h->fail = BZ_FAIL_CALLBACK;
    lua_settop(L, top);
    return 1;
  }
  lua_settop(L, top);
  return 0;
}

/* ---- handle lifetime --------------------------------------------------------- */

bz_http *bz_http_check(lua_State *L, int idx) {
  bz_http *h = (bz_http *)luaL_checkudata(L, idx, BZ_HTTP_MT);
  if (h->easy == NULL) luaL_error(L, "bizreg.http: the handle is closed");
  return h;
}

void bz_http_begin(bz_http *h) {
  if (h->send_kind == BZ_SEND_STREAM) {
    bz_reader_init(&h->rd, h->body);
    h->rd_open = 1;
  }
}

void bz_http_end(bz_http *h) {
  if (h->rd_open) {
    bz_reader_close(&h->rd);
    h->rd_open = 0;
  }
  h->progress = 0;
  h->L = NULL;
  h->fn_idx = 0;
  h->anchors_idx = 0;
  h->body = NULL;
  h->str = NULL;
}

/* Idempotent, non-raising: shared by close(), __gc and __close. */
static void http_release(bz_http *h) {
  if (h->easy == NULL) return;
  if (h->busy == BZ_BUSY_MULTI && h->multi != NULL) bz_multi_forget(h->multi, h);
  h->busy = BZ_IDLE;
  h->multi = NULL;
  bz_http_end(h);
  curl_easy_cleanup(h->easy);
  h->easy = NULL;
  curl_slist_free_all(h->slist);
  h->slist = NULL;
  bz_buf_free(&h->resp);
  bz_buf_free(&h->hdrs);
}

static int http_gc(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  /* A running transfer is always anchored, so it can only be finalized by a
   * lua_close from inside one of its callbacks (os.exit(c, true)): leave the
   * handle to the process exit rather than free it under libcurl's feet. */
  if (h->busy == BZ_BUSY_SYNC || (h->busy == BZ_BUSY_MULTI && h->L != NULL)) return 0;
  http_release(h);
  return 0;
}

static int http_close(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  if (h->busy == BZ_BUSY_SYNC)
    return luaL_error(L, "bizreg.http: cannot close a handle while its request is running");
  if (h->busy == BZ_BUSY_MULTI && h->L != NULL)
    return luaL_error(L, "bizreg.http: cannot close a handle while its multi is being polled");
  http_release(h);
  return 0;
}

static int http_closed(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  lua_pushboolean(L, h->easy == NULL);
  return 1;
}

static int http_tostring(lua_State *L) {
  bz_http *h = (bz_http *)luaL_checkudata(L, 1, BZ_HTTP_MT);
  lua_pushstring(L, h->easy ? "bizreg.http (open)" : "bizreg.http (closed)");
  return 1;
}

/* ---- options ------------------------------------------------------------------ */

/* opts[name] at the top of the stack (left there: strings stay anchored). */
static double opt_seconds(lua_State *L, int opts, const char *name, double dflt) {
  double v;
  lua_getfield(L, opts, name);
  if (lua_isnil(L, -1)) return dflt;
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must be a number of seconds", name));
  v = (double)lua_tonumber(L, -1);
  if (!(v > 0 && v <= MAX_SECONDS))
    luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must be > 0 and <= %d seconds", name, (int)MAX_SECONDS));
  return v;
}

static const char *opt_string(lua_State *L, int opts, const char *name) {
  size_t n;
  const char *s;
  lua_getfield(L, opts, name);
  if (lua_isnil(L, -1)) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must be a string", name));
  s = lua_tolstring(L, -1, &n);
  if (strlen(s) != n) luaL_argerror(L, 1, lua_pushfstring(L, "opts.%s must not contain NUL", name));
  return s;
}

static long to_ms(double s) {
  long ms = (long)(s * 1000.0);
  if ((double)ms < s * 1000.0) ms++;  /* round up; never 0 for a positive time */
  return ms;
}

/* core.http(opts) -> handle */
int bz_http_new(lua_State *L) {
  double timeout = DEFAULT_TIMEOUT, ctimeout = DEFAULT_CONNECT_TIMEOUT, max_idle;
  int verify = 1;
  const char *ca = NULL, *proxy = NULL, *ua = NULL;
  size_t max_body = DEFAULT_MAX_BODY;
  bz_http *h;
  CURL *e;
  CURLcode rc = CURLE_OK;

  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
  }
  timeout = opt_seconds(L, 1, "timeout", DEFAULT_TIMEOUT);
  ctimeout = opt_seconds(L, 1, "connect_timeout", DEFAULT_CONNECT_TIMEOUT);
  max_idle = opt_seconds(L, 1, "max_idle", DEFAULT_MAX_IDLE);
  lua_getfield(L, 1, "verify_tls");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TBOOLEAN) luaL_argerror(L, 1, "opts.verify_tls must be a boolean");
    verify = lua_toboolean(L, -1);
  }
  ca = opt_string(L, 1, "ca_file");
  proxy = opt_string(L, 1, "proxy");
  ua = opt_string(L, 1, "user_agent");
  lua_getfield(L, 1, "max_response_bytes");
  if (!lua_isnil(L, -1)) {
    long long v = 0;
    if (!bz_tointeger(L, -1, &v) || v < 0) luaL_argerror(L, 1, "opts.max_response_bytes must be an integer >= 0");
    max_body = (unsigned long long)v > (unsigned long long)((size_t)-1 / 2) ? (size_t)-1 / 2 : (size_t)v;
  }

  h = (bz_http *)bz_newuserdata(L, sizeof *h);
  memset(h, 0, sizeof *h);
  e = curl_easy_init();
  if (e == NULL) return luaL_error(L, "bizreg.http: curl_easy_init failed");
  h->easy = e;
  h->max_body = max_body;
  h->timeout_ms = to_ms(timeout);
  luaL_getmetatable(L, BZ_HTTP_MT);
  lua_setmetatable(L, -2);  /* from here on __gc releases the easy handle */

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK) rc = bz_curl_http_only(e);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  SET(CURLOPT_ERRORBUFFER, h->errbuf);
  SET(CURLOPT_PRIVATE, (void *)h);
  SET(CURLOPT_WRITEFUNCTION, write_cb);
  SET(CURLOPT_WRITEDATA, (void *)h);
  SET(CURLOPT_HEADERFUNCTION, header_cb);
  SET(CURLOPT_HEADERDATA, (void *)h);
  SET(CURLOPT_READFUNCTION, read_cb);
  SET(CURLOPT_READDATA, (void *)h);
  SET(CURLOPT_SEEKFUNCTION, seek_cb);
  SET(CURLOPT_SEEKDATA, (void *)h);
#if BZ_CURL_AT_LEAST(7, 80)
  SET(CURLOPT_PREREQFUNCTION, prereq_cb);
  SET(CURLOPT_PREREQDATA, (void *)h);
#endif
  SET(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
  SET(CURLOPT_XFERINFODATA, (void *)h);
  SET(CURLOPT_NOPROGRESS, 1L);
  SET(CURLOPT_TIMEOUT_MS, h->timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, to_ms(ctimeout));
  SET(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  SET(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if (ca) SET(CURLOPT_CAINFO, ca);
  if (proxy) SET(CURLOPT_PROXY, proxy);
  if (ua) SET(CURLOPT_USERAGENT, ua);
  if (max_body > 0) SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
  SET(CURLOPT_MAXAGE_CONN, (long)(max_idle < 1 ? 1 : max_idle));  /* whole seconds */
#undef SET
  if (rc != CURLE_OK) {
    http_release(h);
    return luaL_error(L, "bizreg.http: cannot configure the handle: %s", curl_easy_strerror(rc));
  }
  return 1;
}

/* ---- one request ------------------------------------------------------------------ */

static int push_refused(lua_State *L, const char *code, const char *message) {
  lua_pushnil(L);
  push_err(L, code, -1, message, 0);
  return 2;
}

/* 1 if the headers table (at idx) has a Content-Type entry. */
static int has_content_type(lua_State *L, int idx) {
  int found = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t n;
    const char *k = lua_tolstring(L, -2, &n);  /* keys were checked to be strings */
    if (n == 12) {
      size_t i;
      const char *ct = "content-type";
      for (i = 0; i < n && lower(k[i]) == ct[i]; i++) {}
      if (i == n) found = 1;
    }
    lua_pop(L, 1);
  }
  return found;
}

/* req.timeout: seconds (> 0, finite; capped like the handle's) for this request only;
 * absent: the handle's own timeout, so an earlier override never sticks. */
static long req_timeout(lua_State *L, bz_http *h, int req) {
  double v;
  lua_getfield(L, req, "timeout");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return h->timeout_ms;
  }
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_argerror(L, req, "req.timeout must be a number of seconds");
  v = (double)lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v > 0 && v < HUGE_VAL)) luaL_argerror(L, req, "req.timeout must be > 0 and finite");
  return to_ms(v < MAX_SECONDS ? v : MAX_SECONDS);
}

int bz_http_prepare(lua_State *L, bz_http *h, int req) {
  const char *method, *url, *body_str = NULL;
  size_t mlen = 3, ulen, blen = 0;
  const bz_body *body = NULL;
  int base, i_hdr, i_body, has_fn, post_mode, is_head;
  long timeout_ms;
  CURL *e = h->easy;
  CURLcode rc = CURLE_OK;
  bz_buf line = { NULL, 0, 0 };

  req = req < 0 ? lua_gettop(L) + req + 1 : req;
  luaL_checktype(L, req, LUA_TTABLE);
  base = lua_gettop(L);
  lua_getfield(L, req, "method");
  lua_getfield(L, req, "url");
  lua_getfield(L, req, "headers");
  lua_getfield(L, req, "body");
  lua_getfield(L, req, "on_progress");
  i_hdr = base + 3;
  i_body = base + 4;

  if (lua_isnil(L, base + 1)) {
    method = "GET";
  } else {
    size_t k;
    if (lua_type(L, base + 1) != LUA_TSTRING) return luaL_argerror(L, req, "req.method must be a string");
    method = lua_tolstring(L, base + 1, &mlen);
    for (k = 0; k < mlen; k++) if (!is_tchar((unsigned char)method[k])) break;
    if (mlen == 0 || mlen > 32 || k < mlen) return luaL_argerror(L, req, "req.method must be an HTTP method token");
  }
  if (lua_type(L, base + 2) != LUA_TSTRING) return luaL_argerror(L, req, "req.url must be a string");
  url = lua_tolstring(L, base + 2, &ulen);
  if (strlen(url) != ulen) return luaL_argerror(L, req, "req.url must not contain NUL");
  if (!lua_isnil(L, i_hdr) && lua_type(L, i_hdr) != LUA_TTABLE)
    return luaL_argerror(L, req, "req.headers must be a table");
  if (lua_type(L, i_body) == LUA_TSTRING) {
    body_str = lua_tolstring(L, i_body, &blen);
  } else if (!lua_isnil(L, i_body)) {
    body = (const bz_body *)bz_testudata(L, i_body, BZ_BODY_MT);
    if (body == NULL) return luaL_argerror(L, req, "req.body must be nil, a string or a body");
  }
  has_fn = !lua_isnil(L, base + 5);
  if (has_fn && lua_type(L, base + 5) != LUA_TFUNCTION)
    return luaL_argerror(L, req, "req.on_progress must be a function");
  is_head = strcmp(method, "HEAD") == 0;
  if (is_head && (body_str != NULL || body != NULL)) return luaL_argerror(L, req, "a HEAD request cannot have a body");
  timeout_ms = req_timeout(L, h, req);

  /* Headers: check every name and value before anything is built or sent. */
  if (!lua_isnil(L, i_hdr)) {
    lua_pushnil(L);
    while (lua_next(L, i_hdr)) {
      size_t nl, vl, k;
      const char *name, *value;
      int bad = 0;
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_argerror(L, req, "req.headers: names and values must be strings");
      name = lua_tolstring(L, -2, &nl);
      value = lua_tolstring(L, -1, &vl);
      for (k = 0; k < nl && !bad; k++) {
        unsigned char c = (unsigned char)name[k];
        bad = c <= 0x20 || c == 0x7f || c == ':';
      }
      for (k = 0; k < vl && !bad; k++) bad = value[k] == '\r' || value[k] == '\n' || value[k] == '\0';
      if (nl == 0 || bad) {
        char esc[96], msg[160];
        escape_name(esc, sizeof esc, name, nl);
        if (nl == 0) snprintf(msg, sizeof msg, "header name must not be empty");
        else snprintf(msg, sizeof msg, "header %s contains a forbidden character", esc);
        lua_settop(L, base);
        return push_refused(L, "BAD_HEADER", msg);
      }
      lua_pop(L, 1);
    }
  }

  /* Header list: "Expect:" first (no 100-continue), then the caller's headers. */
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  curl_slist_free_all(h->slist);
  h->slist = curl_slist_append(NULL, "Expect:");
  if (h->slist == NULL) goto oom;
  if (!lua_isnil(L, i_hdr)) {
    lua_pushnil(L);
    while (lua_next(L, i_hdr)) {
      size_t nl, vl;
      const char *name = lua_tolstring(L, -2, &nl), *value = lua_tolstring(L, -1, &vl);
      struct curl_slist *ns;
      line.len = 0;
      /* "Name;" sends an empty header ("Name:" would remove it). */
      if (bz_buf_append(&line, name, nl) != 0 ||
          (vl == 0 ? bz_buf_append(&line, ";", 1) : (bz_buf_append(&line, ": ", 2) || bz_buf_append(&line, value, vl))) != 0 ||
          bz_buf_append(&line, "", 1) != 0) {
        lua_settop(L, base + 5);
        goto oom;
      }
      ns = curl_slist_append(h->slist, line.p);
      if (ns == NULL) { lua_settop(L, base + 5); goto oom; }
      h->slist = ns;
      lua_pop(L, 1);
    }
  }
  /* Content-Type: the caller's; else the body's own (multipart); else none at
   * all (libcurl would invent application/x-www-form-urlencoded for a POST). */
  if (lua_isnil(L, i_hdr) || !has_content_type(L, i_hdr)) {
    const char *ct = "Content-Type:";
    struct curl_slist *ns;
    if (body != NULL && body->content_type[0] != '\0') {
      size_t k, n = strnlen(body->content_type, sizeof body->content_type);
      int ok = n < sizeof body->content_type;
      for (k = 0; k < n && ok; k++) ok = (unsigned char)body->content_type[k] >= 0x20 && body->content_type[k] != 0x7f;
      if (ok) {
        line.len = 0;
        if (bz_buf_append(&line, "Content-Type: ", 14) != 0 || bz_buf_append(&line, body->content_type, n + 1) != 0) goto oom;
        ct = line.p;
      }
    }
    ns = curl_slist_append(h->slist, ct);
    if (ns == NULL) goto oom;
    h->slist = ns;
  }
  bz_buf_free(&line);

  /* Method and body. POST/PUT/PATCH and any request with a body send
   * Content-Length (0 when empty); never chunked. */
  post_mode = body_str != NULL || body != NULL || strcmp(method, "POST") == 0 ||
              strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
  h->send_kind = BZ_SEND_NONE;
  h->body = NULL;
  h->str = NULL;
  h->up_total = 0;
  rc = curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  if (post_mode) {
    /* The body always comes from read_cb (see there); it stays anchored by the caller. */
    if (body != NULL && body->total > 0) {
      h->send_kind = BZ_SEND_STREAM;
      h->body = body;
      h->up_total = body->total;
    } else if (body_str != NULL && blen > 0) {
      h->send_kind = BZ_SEND_STRING;
      h->str = body_str;
      h->up_total = (int64_t)blen;
    }
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, (void *)NULL);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->up_total);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : (char *)NULL);
  } else {
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, (void *)NULL);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (is_head) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
      if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    } else {
      if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : (char *)NULL);
    }
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_URL, url);
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->slist);
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_NOPROGRESS, has_fn ? 0L : 1L);
  if (rc != CURLE_OK) {
    char tmp[32], msg[160];
    snprintf(msg, sizeof msg, "cannot set up the request: %s", curl_easy_strerror(rc));
    h->send_kind = BZ_SEND_NONE;
    h->body = NULL;
    lua_settop(L, base);
    return push_refused(L, curle_name(rc, tmp, sizeof tmp), msg);
  }

  /* Per-transfer state. */
  h->progress = has_fn;
  h->last_ul = 0;
  h->up_read = 0;
  h->fail = BZ_FAIL_NONE;
  h->in_headers = 0;
  h->attempts = 0;
  h->msg[0] = '\0';
  h->errbuf[0] = '\0';
  h->resp.len = 0;
  h->hdrs.len = 0;
  h->L = NULL;
  h->fn_idx = 0;
  h->anchors_idx = 0;
  return 0;

oom:
  bz_buf_free(&line);
  curl_slist_free_all(h->slist);
  h->slist = NULL;
  lua_settop(L, base);
  return push_refused(L, "OUT_OF_MEMORY", "out of memory while building the request headers");
}

/* Bytes of the request written: headers (CURLINFO_REQUEST_SIZE, which includes a body
 * sent together with them) plus body bytes uploaded after them. Read from libcurl's
 * counters: CURLOPT_VERBOSE + a debug callback would count exactly, but verbose mode
 * makes libcurl format text for every event and more than doubles per-request time. */
static int64_t sent_bytes(bz_http *h) {
  long reqsize = 0;
  curl_off_t up = 0;
  if (curl_easy_getinfo(h->easy, CURLINFO_REQUEST_SIZE, &reqsize) != CURLE_OK) reqsize = 0;
  if (curl_easy_getinfo(h->easy, CURLINFO_SIZE_UPLOAD_T, &up) != CURLE_OK) up = 0;
  return (int64_t)reqsize < (int64_t)up ? (int64_t)reqsize + (int64_t)up : (int64_t)reqsize;
}

/* libcurl refuses a header line over CURL_MAX_HTTP_HEADER (100 KiB) before our
 * header_cb sees it: 7.88 fails with CURLE_OUT_OF_MEMORY (its line buffer is capped),
 * 8.6+ with CURLE_TOO_LARGE, some with RECV_ERROR and a message ("Rejected 102401 bytes
 * header", "Too large response headers"). */
static int header_overflow(const bz_http *h, CURLcode rc) {
  if (rc == CURLE_OUT_OF_MEMORY && h->in_headers) return 1;
#if BZ_CURL_AT_LEAST(8, 6)
  if (rc == CURLE_TOO_LARGE) return 1;
#endif
  return (rc == CURLE_RECV_ERROR || rc == CURLE_WEIRD_SERVER_REPLY) && strstr(h->errbuf, "header") != NULL &&
         (strstr(h->errbuf, "Rejected") != NULL || strstr(h->errbuf, "oo large") != NULL);
}

/* Whether any byte of the request may have reached the server (headers go first). */
static int was_sent(bz_http *h) { return sent_bytes(h) > 0; }

static void shrink(bz_buf *b) {
  if (b->cap > SHRINK_ABOVE) bz_buf_free(b);
  else b->len = 0;
}

static void push_headers(lua_State *L, const bz_buf *b) {
  size_t o = 0;
  int t;
  lua_newtable(L);
  t = lua_gettop(L);
  while (o < b->len) {
    const char *name = b->p + o, *value;
    size_t nl = strlen(name), vl;
    value = name + nl + 1;
    vl = strlen(value);
    o += nl + vl + 2;
    lua_pushlstring(L, name, nl);
    lua_pushvalue(L, -1);
    lua_rawget(L, t);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushlstring(L, value, vl);
    } else {  /* repeated header: values joined with ", " */
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, value, vl);
      lua_concat(L, 3);
    }
    lua_rawset(L, t);
  }
}

void bz_http_push_outcome(lua_State *L, bz_http *h, CURLcode rc) {
  char tmp[32], msg[CURL_ERROR_SIZE + 320];
  const char *code;
  luaL_checkstack(L, 8, "bizreg.http");
  if (rc == CURLE_OK && h->fail == BZ_FAIL_NONE) {
    long status = 0;
    curl_off_t us = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h->easy, CURLINFO_TOTAL_TIME_T, &us);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
    push_headers(L, &h->hdrs);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, h->resp.p ? h->resp.p : "", h->resp.len);
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, (lua_Number)us / 1e6);
    lua_setfield(L, -2, "total_time");
    lua_pushinteger(L, (lua_Integer)sent_bytes(h));
    lua_setfield(L, -2, "request_size");
    lua_pushnil(L);
    shrink(&h->resp);
    shrink(&h->hdrs);
    return;
  }
  if (h->fail == BZ_FAIL_TOO_LARGE || rc == CURLE_FILESIZE_EXCEEDED || header_overflow(h, rc)) {
    code = "RESPONSE_TOO_LARGE";
    if (h->msg[0]) snprintf(msg, sizeof msg, "%s", h->msg);
    else if (h->fail == BZ_FAIL_NONE && rc != CURLE_FILESIZE_EXCEEDED)
      snprintf(msg, sizeof msg, "a response header line exceeds libcurl's limit (%d bytes)", CURL_MAX_HTTP_HEADER);
    else snprintf(msg, sizeof msg, "response body exceeds max_response_bytes (%lu)", (unsigned long)h->max_body);
  } else if (h->fail == BZ_FAIL_BODY) {
    code = "BODY_READ_ERROR";
    snprintf(msg, sizeof msg, "%s", h->msg);
  } else if (h->fail == BZ_FAIL_NO_RESEND) {
    code = "CONNECTION_DIED";
    snprintf(msg, sizeof msg, "the connection closed after the request was sent, before any answer; "
             "not sent again (the server may have received it)");
  } else if (h->fail == BZ_FAIL_CALLBACK) {
    code = "CALLBACK_ERROR";
    snprintf(msg, sizeof msg, "%s", h->msg);
  } else if (h->fail == BZ_FAIL_OOM) {
    code = "OUT_OF_MEMORY";
    snprintf(msg, sizeof msg, "out of memory while receiving the response");
  } else {
    code = curle_name(rc, tmp, sizeof tmp);
    if (h->errbuf[0] && strcmp(h->errbuf, curl_easy_strerror(rc)) != 0)
      snprintf(msg, sizeof msg, "%s: %s", curl_easy_strerror(rc), h->errbuf);
    else
      snprintf(msg, sizeof msg, "%s", curl_easy_strerror(rc));
  }
  lua_pushnil(L);
  push_err(L, code, (int)rc, msg, h->fail == BZ_FAIL_NO_RESEND || was_sent(h));
  shrink(&h->resp);
  shrink(&h->hdrs);
}

/* h:request(req) -> res | nil, err */
static int http_request(lua_State *L) {
  bz_http *h = bz_http_check(L, 1);
  int n, top;
  CURLcode rc;
  if (h->busy != BZ_IDLE) return luaL_error(L, "bizreg.http: the handle is busy with another request");
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  n = bz_http_prepare(L, h, 2);
  if (n) return n;
  top = lua_gettop(L);  /* top-1: body, top: on_progress (anchored on this stack) */
  luaL_checkstack(L, BZ_CB_STACK, "bizreg.http");
  h->L = L;
  h->fn_idx = h->progress ? top : 0;
  h->anchors_idx = 0;
  bz_http_begin(h);
  h->busy = BZ_BUSY_SYNC;
  rc = curl_easy_perform(h->easy);  /* no Lua error may be raised until it returns */
  h->busy = BZ_IDLE;
  bz_http_end(h);
  bz_http_push_outcome(L, h, rc);
  if (!lua_isnil(L, -2)) lua_pop(L, 1);  /* res */
  else return 2;                         /* nil, err */
  return 1;
}

/* ---- module-level ------------------------------------------------------------------ */

int bz_curl_version(lua_State *L) {
  lua_pushstring(L, curl_version());
  return 1;
}

static const luaL_Reg http_methods[] = {
  { "request", http_request },
  { "close", http_close },
  { "closed", http_closed },
  { NULL, NULL } };

void bz_http_open(lua_State *L) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  luaL_newmetatable(L, BZ_HTTP_MT);
  lua_newtable(L);
  bz_setfuncs(L, http_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, http_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, http_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, http_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  bz_multi_open(L);
}
