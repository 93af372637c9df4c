#!/bin/sh
# fuzz/run.sh SECONDS NAME...: for each harness build/fuzz/NAME_fuzz (built by make),
#  1. runs every input of fuzz/regress/NAME/ once, strictly (BZ_FUZZ_STRICT=1): inputs of
#     findings not fixed yet fail here, and are reported, never skipped;
#  2. (SECONDS > 0) fuzzes for SECONDS at nice 10 in fork mode (a crash is saved and fuzzing goes on),
#     new inputs in build/fuzz/NAME/corpus, seeds from fuzz/corpus/NAME (never written),
#     known findings from fuzz/regress/NAME/KNOWN tolerated;
#  3. prints one line per harness (executions, corpus, failing regressions, new findings
#     grouped by signature) and exits 1 if any regression failed or anything new crashed.
# Run from the repository root: the Lua harness loads ./lua/?.lua.
set -u
secs=$1; shift
status=0
for name in "$@"; do
  bin=build/fuzz/${name}_fuzz work=build/fuzz/$name reg=fuzz/regress/$name
  mkdir -p "$work/corpus" "$work/artifacts"
  rfail=0 rtotal=0
  for f in "$reg"/*; do
    [ -f "$f" ] || continue
    case ${f##*/} in KNOWN|*.md) continue ;; esac
    rtotal=$((rtotal + 1))
    if ! BZ_FUZZ_STRICT=1 "$bin" -timeout=10 -rss_limit_mb=1024 "$f" >"$work/regress.log" 2>&1; then
      rfail=$((rfail + 1))
      echo "  $name: regression ${f##*/} FAILS: $(grep -a -m1 -E 'SUMMARY: [A-Za-z]+Sanitizer|secret leaked|raised|check failed|ERROR: libFuzzer: (timeout|out-of-memory)' "$work/regress.log" | cut -c1-160)"
    fi
  done
  if [ "$secs" -le 0 ]; then  # regressions only (libFuzzer reads -max_total_time=0 as "no limit")
    echo "$name: regressions failing $rfail/$rtotal (no fuzzing)"
    [ "$rfail" -gt 0 ] && status=1
    continue
  fi
  dict=""; [ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
  known=""; [ -f "$reg/KNOWN" ] && known="$PWD/$reg/KNOWN"
  stamp="$work/.stamp"; : >"$stamp"
  BZ_FUZZ_KNOWN=$known nice -n 10 "$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=30 \
    -max_total_time="$secs" -artifact_prefix="$work/artifacts/" $dict "$work/corpus" "fuzz/corpus/$name" \
    >"$work/fuzz.log" 2>&1
  execs=$(grep -a -o '^#[0-9]*' "$work/fuzz.log" | tail -n 1 | tr -d '#')
  corpus=$(ls "$work/corpus" | wc -l)
  # new artifacts, grouped by what failed: a leak class, a sanitizer summary, or the first frame in our code
  sigs=""
  new=0
  for a in $(find "$work/artifacts" -type f -newer "$stamp" 2>/dev/null); do
    new=$((new + 1))
    BZ_FUZZ_KNOWN=$known "$bin" "$a" >"$work/artifact.log" 2>&1
    sig=$(grep -a -m1 -o '\[class: [^]]*\]' "$work/artifact.log" ||
          grep -a -m1 -o 'SUMMARY: [A-Za-z]*Sanitizer: [^(]*' "$work/artifact.log" ||
          grep -a -m1 -o 'check failed at [^ ]*' "$work/artifact.log" ||
          grep -a -m1 -o -E ' in [A-Za-z_0-9]+ [^ ]*(fuzz|src)/[^ ]*' "$work/artifact.log" || echo "no longer fails")
    sigs="$sigs$sig ($a)
"
  done
  echo "$name: ${execs:-0} executions in $secs s, corpus $corpus, regressions failing $rfail/$rtotal, new crashing inputs $new"
  if [ "$new" -gt 0 ]; then
    printf '%s' "$sigs" | sort | awk -F' [(]' '{ n[$1]++; ex[$1] = $2 } END { for (s in n) printf "    %dx %s (e.g. %s\n", n[s], s, ex[s] }'
  fi
  [ "$rfail" -gt 0 ] || [ "$new" -gt 0 ] && status=1
done
exit $status
