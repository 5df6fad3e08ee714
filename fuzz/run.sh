#!/usr/bin/env bash
# Build the fuzz targets and run each in turn for SECONDS (or RUNS
# executions, whichever comes first), one libFuzzer process at a time, at
# the lowest CPU priority. Seeds are made from fixtures/ first.
#
#   fuzz/run.sh SECONDS [RUNS] [TARGET...]     e.g. fuzz/run.sh 1800 10000000 utf16
#
# Without RUNS (or with -1) only time limits a run. Exit status: 0 when no
# target crashed, else 1 (the crash is left in fuzz/artifacts/TARGET/).
#
# Built with `--sanitizer none`: the targets are safe Rust plus a few
# `unsafe` blocks with their own checks, so AddressSanitizer buys little
# here and costs 2-3x the executions; without it the build needs no
# unstable flag, so the stable toolchain builds it too. `-a` keeps debug
# assertions (and overflow checks) on.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:?usage: fuzz/run.sh SECONDS [RUNS] [TARGET...]}"
runs="${2:--1}"
shift $(($# < 2 ? $# : 2))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
flags=(-O -a --sanitizer none)
python3 seeds.py
nice -n 19 cargo fuzz build "${flags[@]}"
# anyhow captures a backtrace for every error when RUST_BACKTRACE is set (as
# cargo fuzz sets it): most inputs end in an error, so that would cost most
# of the time. Panics keep their backtraces.
export RUST_LIB_BACKTRACE=0
status=0
for target in "${targets[@]}"; do
    log="$(mktemp)"
    # -jobs/-workers are not given: one process, in the foreground.
    # Judged by libFuzzer's own lines, not the exit status: a process that
    # used rayon's pool can trip a glibc assertion in its exit handlers
    # (`dl-fini.c ... nloaded`, status 127) after "Done", with no crash.
    nice -n 19 cargo fuzz run "${flags[@]}" "$target" -- \
        -dict=canary.dict -max_total_time="$seconds" -runs="$runs" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || true
    if grep -q '^Done [0-9]* runs' "$log" && ! grep -q 'ERROR: libFuzzer\|SUMMARY: libFuzzer' "$log"; then
        result=ok
    else
        result=CRASH
        status=1
        tail -n 40 "$log" >&2
    fi
    awk -v t="$target" -v r="$result" '
        /^stat::number_of_executed_units:/ { n = $2 }
        /^stat::average_exec_per_sec:/ { s = $2 }
        /^Done [0-9]+ runs in/ { secs = $(NF - 1) }
        END { printf "fuzz %-15s %-5s %12d executions %8d exec/s %6d s\n", t, r, n, s, secs }
    ' "$log"
    rm -f "$log"
done
exit "$status"
