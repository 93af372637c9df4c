/* The libcurl callbacks of one transfer (plain C: they never raise; a Lua
 * callback runs under lua_pcall) and their registration on a new easy handle. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "http.h"

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

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

/* Blanks around a name or value; a NUL (which a server may send) counts as one. */
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; }

/* Lower-cases the 8 bytes of x, or returns 0 when one of them is NUL. SWAR: bit 7 of each
 * byte computed for 'A' <= c <= 'Z' (ASCII only), without carries between bytes. */
static int lower8(uint64_t *x) {
  const uint64_t hi = 0x8080808080808080ULL;
  uint64_t hept;
  if ((*x - 0x0101010101010101ULL) & ~*x & hi) return 0;
  hept = *x & 0x7f7f7f7f7f7f7f7fULL;
  *x |= ((hept + 0x3f3f3f3f3f3f3f3fULL) & ~(hept + 0x2525252525252525ULL) & ~*x & hi) >> 2;
  return 1;
}

/* Copies a name of n bytes from s (a line of slen >= n bytes) to d lower-cased, NUL bytes
 * as spaces: 8 bytes a step while the line has them (d has 8 bytes of room past the name;
 * bytes written there are overwritten later), byte by byte from a word with a NUL on. */
static void copy_name(char *d, const char *s, size_t n, size_t slen) {
  size_t i = 0;
  uint64_t x;
  for (; i < n && i + 8 <= slen; i += 8) {
    memcpy(&x, s + i, 8);
    if (!lower8(&x)) break;
    memcpy(d + i, &x, 8);
  }
  for (; i < n; i++) d[i] = s[i] == '\0' ? ' ' : lower(s[i]);
  d[n] = '\0';
}

/* Writes a value s[0..n) and a terminating NUL at d (room reserved by the caller); NUL
 * bytes become spaces. */
static void copy_value(char *d, const char *s, size_t n) {
  char *z;
  memcpy(d, s, n);
  d[n] = '\0';
  for (z = (char *)memchr(d, '\0', n); z != NULL; z = (char *)memchr(z, '\0', (size_t)(d + n - z))) *z = ' ';
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *ud) {
  bz_http *h = (bz_http *)ud;
  size_t len = size * nmemb, end = len, nend, vstart;
  const char *colon;
  if (end >= 2 && p[end - 1] == '\n' && p[end - 2] == '\r') end -= 2;  /* the usual CRLF */
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
  if (h->hdrs.len + end + 2 > BZ_MAX_HEADER_BYTES) {
    h->fail = BZ_FAIL_TOO_LARGE;
    snprintf(h->msg, sizeof h->msg, "response headers exceed %lu bytes", (unsigned long)BZ_MAX_HEADER_BYTES);
    return 0;
  }
  while (end > 0 && is_ws(p[end - 1])) end--;
  if (p[0] == ' ' || p[0] == '\t') {  /* obsolete line folding: continues the previous value */
    size_t s = 0;
    while (s < end && is_ws(p[s])) s++;
    if (h->hdrs.len == 0 || s == end) return len;
    if (bz_buf_reserve(&h->hdrs, end - s + 1) != 0) {
      h->fail = BZ_FAIL_OOM;
      return 0;
    }
    if (h->hdrs.len >= 2 && h->hdrs.p[h->hdrs.len - 2] == '\0') h->hdrs.len--;  /* empty value: no joining blank */
    else h->hdrs.p[h->hdrs.len - 1] = ' ';
    copy_value(h->hdrs.p + h->hdrs.len, p + s, end - s);
    h->hdrs.len += end - s + 1;
    return len;
  }
  colon = (const char *)memchr(p, ':', end);
  if (colon == NULL) return len;
  nend = (size_t)(colon - p);
  while (nend > 0 && (p[nend - 1] == ' ' || p[nend - 1] == '\t')) nend--;
  if (nend == 0) return len;
  vstart = (size_t)(colon - p) + 1;
  while (vstart < end && is_ws(p[vstart])) vstart++;
  if (bz_buf_reserve(&h->hdrs, nend + (end - vstart) + 2 + 8) != 0) {  /* + 8: copy_name */
    h->fail = BZ_FAIL_OOM;
    return 0;
  }
  copy_name(h->hdrs.p + h->hdrs.len, p, nend, len);
  copy_value(h->hdrs.p + h->hdrs.len + nend + 1, p + vstart, end - vstart);
  h->hdrs.len += nend + (end - vstart) + 2;
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

#if BZ_CURL_AT_LEAST(7, 80)
/* Called before each request libcurl writes, its own retries on a fresh connection
 * included. seek_cb stops a second copy of body bytes; this stops a second request
 * head too once any byte of the first may have left (the stale-connection case, where
 * nothing was written, still gets its fresh connection). */
static int prereq_cb(void *ud, char *ip, char *local_ip, int port, int local_port) {
  bz_http *h = (bz_http *)ud;
  (void)ip; (void)local_ip; (void)port; (void)local_port;
  if (h->attempts++ > 0 && bz_sent_bytes(h) > 0) {
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

/* Bytes of the request written: headers (CURLINFO_REQUEST_SIZE, which includes a body
 * sent together with them) plus body bytes uploaded after them. Read from libcurl's
 * counters: CURLOPT_VERBOSE + a debug callback would count exactly, but verbose mode
 * makes libcurl format text for every event and more than doubles per-request time. */
int64_t bz_sent_bytes(bz_http *h) {
  long reqsize = 0;
  curl_off_t up = 0;
  if (curl_easy_getinfo(h->easy, CURLINFO_REQUEST_SIZE, &reqsize) != CURLE_OK) reqsize = 0;
  if (curl_easy_getinfo(h->easy, CURLINFO_SIZE_UPLOAD_T, &up) != CURLE_OK) up = 0;
  return (int64_t)reqsize < (int64_t)up ? (int64_t)reqsize + (int64_t)up : (int64_t)reqsize;
}

CURLcode bz_http_callbacks(CURL *e, bz_http *h) {
  CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
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
#undef SET
  return rc;
}
