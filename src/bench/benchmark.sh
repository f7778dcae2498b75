#!/usr/bin/env bash
# Converts a synthetic checkpoint and copies its pages files with cp in the same run, and prints
# both times (median of RUNS), their ratio and criu2core's peak RSS. criu2core runs as users run
# it, through src/bin/criu2core: JVM start included.
#
# A second reference: cp of the cores criu2core wrote. cp keeps their holes (SEEK_HOLE), so
# that is what cp itself takes to write files of the same size and holes from the page cache;
# writing a hole after every few dozen pages costs ext4 more than one long copy does.
#
# usage: [PROCESSES=N] src/bench/benchmark.sh [SIZE_MIB] [VMAS] [RUNS] [warm|cold] [JAVA_OPTIONS...]
#   SIZE_MIB  saved pages of the checkpoint (default 1024)
#   VMAS      number of VMAs (default 1000)
#   RUNS      runs of each (default 5)
#   warm      the pages files are in the page cache (default); cold: the caches are dropped
#             before every run (needs root), so both read from disk
#   JAVA_OPTIONS  passed to java instead of the launcher's defaults
#   PROCESSES processes in the checkpoint's tree, sharing size and VMAs (default 1); their cores
#             are written concurrently
# The checkpoint is made under target/bench/ once per size, VMA and process count and kept.
# Before each timed run the previous output is removed and writeback settles (sync, one second).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-1024}; vmas=${2:-1000}; runs=${3:-5}; mode=${4:-warm}; shift $(( $# < 4 ? $# : 4 )) || true
procs=${PROCESSES:-1}
if [ $# -gt 0 ]; then export JAVA_OPTS="$*"; fi
settle() {
  sync; sleep 1
  if [ "$mode" = cold ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}

[ -f target/criu2core.jar ] && [ -d target/test-classes ] || mvn -B -q -DskipTests package test-compile
bench=target/bench
case_dir=$bench/c${size}m-${vmas}v-${procs}p
if [ ! -d "$case_dir/images" ]; then
  echo "making a ${size} MiB checkpoint with ${vmas} VMAs and ${procs} processes in $case_dir"
  java -cp target/test-classes:target/criu2core.jar org.criu2core.bench.BenchCheckpoint "$case_dir" "$size" "$vmas" \
    "$procs" >/dev/null
fi
pages=("$case_dir"/images/pages-*.img "$case_dir"/pre/pages-*.img)
# one run first: the launcher makes its class archive, and the pages files are read once
src/bin/criu2core convert -D "$case_dir/images" -o "$bench/out" -q
bytes=$(cat "${pages[@]}" | wc -c)

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# the pages files share names (pages-1.img in images/ and pre/): each goes to its own target
copy_each() { local to=$1 n=0 f; shift; for f; do cp "$f" "$to/$n"; n=$((n + 1)); done; }
export -f copy_each

cp_times=(); conv_times=(); core_cp_times=(); rss=0
for ((i = 0; i < runs; i++)); do
  # let writeback of the previous run settle: this disk is shared and mounted with discard
  rm -rf "$bench/cp" "$bench/out"; mkdir -p "$bench/cp"; settle
  /usr/bin/time -f %e -o "$bench/t" bash -c 'copy_each "$@"' _ "$bench/cp" "${pages[@]}"
  cp_times+=("$(cat "$bench/t")")
  rm -rf "$bench/cp"; mkdir -p "$bench/cp"; settle
  /usr/bin/time -f "%e %M" -o "$bench/t" src/bin/criu2core convert -D "$case_dir/images" -o "$bench/out" -q
  read -r t m < "$bench/t"; conv_times+=("$t"); (( m > rss )) && rss=$m
  settle
  /usr/bin/time -f %e -o "$bench/t" bash -c 'copy_each "$@"' _ "$bench/cp" "$bench"/out/core.*
  core_cp_times+=("$(cat "$bench/t")")
done
rm -rf "$bench/cp" "$bench/out"
cp_med=$(printf '%s\n' "${cp_times[@]}" | median)
conv_med=$(printf '%s\n' "${conv_times[@]}" | median)
core_cp_med=$(printf '%s\n' "${core_cp_times[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
printf 'checkpoint   %s: %d MiB of pages, %s VMAs, %s process(es), %s cache%s\n' "$case_dir" $((bytes >> 20)) \
  "$vmas" "$procs" "$mode" "${JAVA_OPTS:+, java $JAVA_OPTS}"
printf 'cp           %s s   (runs: %s)   cp of the pages files\n' "$cp_med" "${cp_times[*]}"
printf 'criu2core    %s s   (runs: %s)\n' "$conv_med" "${conv_times[*]}"
printf 'ratio        %s\n' "$(ratio "$conv_med" "$cp_med")"
printf 'cp of cores  %s s   (runs: %s)   the same bytes and holes as the cores\n' "$core_cp_med" "${core_cp_times[*]}"
printf 'ratio        %s   criu2core / cp of cores\n' "$(ratio "$conv_med" "$core_cp_med")"
printf 'peak RSS     %d MiB\n' $((rss / 1024))
