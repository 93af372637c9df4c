/* Baseline for per-request overhead: the same keep-alive POST with plain libcurl, no Lua.
 * usage: raw_curl URL N BODY_FILE -> prints the best per-request time of 5 rounds, in µs */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t sink(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  static char body[1 << 16];
  size_t len;
  int n, r, i;
  double best = 1e9;
  FILE *f;
  CURL *e;
  struct curl_slist *h = NULL;
  if (argc != 4) return 2;
  n = atoi(argv[2]);
  f = fopen(argv[3], "rb");
  if (!f) return 2;
  len = fread(body, 1, sizeof body, f);
  fclose(f);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  e = curl_easy_init();
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Authorization: Bearer t");
  h = curl_slist_append(h, "Accept: application/json");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  for (i = 0; i < 200; i++) curl_easy_perform(e);
  for (r = 0; r < 5; r++) {
    double t0 = now(), t;
    for (i = 0; i < n; i++)
      if (curl_easy_perform(e) != CURLE_OK) return 1;
    t = (now() - t0) / n;
    if (t < best) best = t;
  }
  printf("%.2f\n", best * 1e6);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return 0;
}
