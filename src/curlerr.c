/* Transport error naming and the raw error tables the C transport returns
 * ({ code, curl_code?, message, sent }); lua/bizreg/errors.lua gives them their final shape. */
#include <stdio.h>
#include "http.h"

/* ---- error names ---------------------------------------------------------- */

const char *bz_curle_name(CURLcode rc, char *tmp, size_t n) {
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

/* err = { code=, curl_code=, message=, sent= }; curl_code < 0: field left out. */
void bz_push_err(lua_State *L, const char *code, int curl_code, const char *message, int sent) {
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

int bz_push_refused(lua_State *L, const char *code, const char *message) {
  lua_pushnil(L);
  bz_push_err(L, code, -1, message, 0);
  return 2;
}
