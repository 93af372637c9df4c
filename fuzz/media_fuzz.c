/* libFuzzer harness for bz_media_probe_mem (src/media.c).
 *
 * Build and run (from the repository root; clang only, gcc has no -fsanitize=fuzzer):
 *   lua5.4 fuzz/gen_media_corpus.lua fuzz/corpus/media
 *   clang -g -O1 -std=c99 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=all -Isrc fuzz/media_fuzz.c src/media.c -o build/media_fuzz
 *   mkdir -p build/fuzz-media && build/media_fuzz -max_total_time=60 -dict=fuzz/media.dict \
 *     build/fuzz-media fuzz/corpus/media
 * (new inputs go to build/fuzz-media; the checked-in seeds stay as they are)
 *
 * With -DBZ_FUZZ_FILE every input is also written to a temporary file and
 * bz_media_probe_file must agree with the memory probe (slower; exercises the
 * fseek-based JPEG walk).
 *
 * Checks beyond "no crash / no sanitizer report": the result is self-consistent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "media.h"

#ifdef BZ_FUZZ_FILE
#include <unistd.h>
static char fuzz_path[64]; /* harness-only state: one temp file per process */

static void fuzz_file_remove(void) { unlink(fuzz_path); }

static void fuzz_file_init(void) {
  int fd;
  snprintf(fuzz_path, sizeof fuzz_path, "/tmp/bz_media_fuzz.XXXXXX");
  fd = mkstemp(fuzz_path);
  if (fd < 0) abort();
  close(fd);
  atexit(fuzz_file_remove);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bz_media_info mi;
  bz_media_probe_mem(data, size, &mi);

  if (mi.size != (int64_t)size) abort();
  if ((int)mi.type < (int)BZ_MEDIA_UNKNOWN || (int)mi.type > (int)BZ_MEDIA_ZIP) abort();
  if (mi.has_dims != 0 && mi.has_dims != 1) abort();
  if (mi.has_dims) {
    if (mi.type != BZ_MEDIA_PNG && mi.type != BZ_MEDIA_JPEG) abort();
    if (mi.width == 0 || mi.height == 0) abort();
    if (mi.type == BZ_MEDIA_JPEG && (mi.width > 65535 || mi.height > 65535)) abort();
    if (mi.type == BZ_MEDIA_PNG && (mi.width > 0x7FFFFFFFu || mi.height > 0x7FFFFFFFu)) abort();
  } else if (mi.width != 0 || mi.height != 0) {
    abort();
  }
  if (bz_media_mime(mi.type) == NULL || bz_media_ext(mi.type) == NULL) abort();

#ifdef BZ_FUZZ_FILE
  {
    bz_media_info fi;
    char err[128];
    FILE *fp;
    if (fuzz_path[0] == '\0') fuzz_file_init();
    fp = fopen(fuzz_path, "wb");
    if (fp == NULL) abort();
    if (size > 0 && fwrite(data, 1, size, fp) != size) abort();
    if (fclose(fp) != 0) abort();
    if (bz_media_probe_file(fuzz_path, &fi, err, sizeof err) != 0) abort();
    if (fi.type != mi.type || fi.has_dims != mi.has_dims || fi.width != mi.width ||
        fi.height != mi.height || fi.size != mi.size)
      abort();
  }
#endif
  return 0;
}
