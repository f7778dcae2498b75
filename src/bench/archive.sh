#!/usr/bin/env bash
# Times the reading of a container checkpoint archive: a synthetic checkpoint (BenchCheckpoint, as
# benchmark.sh makes it) put under checkpoint/ in a tar and compressed with zstd, as podman writes
# its archives by default. In the same run, medians of RUNS (docs/performance.md has the results):
#   zstd -dc | tar -x    the archive unpacked by zstd's and tar's own programs: the reference
#   criu2core info       criu2core unpacking it (every image, the pages too) and reading the images
# and the ratio of the two. CRIU2CORE names the command (default src/bin/criu2core); the jar of
# another build, to compare decoders: CRIU2CORE="java -jar other.jar".
#
# PARENT=no leaves the parent snapshot (pre-checkpoint/) out of the archive: criu2core then reports
# the missing snapshot, after unpacking the same bytes as a build that does not know pre-checkpoint/.
#
# usage: [RUNS=5] [CRIU2CORE=COMMAND] [PARENT=no] src/bench/archive.sh [SIZE_MIB] [ZSTD_LEVEL]
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-1024}; level=${2:-3}; runs=${RUNS:-5}
read -r -a criu2core <<< "${CRIU2CORE:-src/bin/criu2core}"
bench=target/bench
mkdir -p "$bench"
export XDG_CACHE_HOME=$PWD/$bench/cache
[ -f target/criu2core.jar ] && [ -d target/test-classes ] || mvn -B -q -DskipTests package test-compile
case_dir=$bench/archive-c${size}m
if [ ! -d "$case_dir/images" ]; then
  java -cp target/test-classes:target/criu2core.jar org.criu2core.bench.BenchCheckpoint "$case_dir" "$size" 1000 \
    1 4 4096 16 >/dev/null
fi
parent=${PARENT:-yes}
suffix=; [ "$parent" = no ] && suffix=-noparent
archive=$bench/archive-c${size}m-z$level$suffix.tar.zst
if [ ! -f "$archive" ]; then
  # podman's layout with --with-previous: the images under checkpoint/, the parent snapshot under
  # pre-checkpoint/, and checkpoint/parent a link to it
  rm -rf "$bench/archive-src" && mkdir -p "$bench/archive-src"
  cp -r "$case_dir/images" "$bench/archive-src/checkpoint" && cp -r "$case_dir/pre" "$bench/archive-src/pre-checkpoint"
  rm -f "$bench/archive-src/checkpoint/parent" && ln -s ../pre-checkpoint "$bench/archive-src/checkpoint/parent"
  # BenchCheckpoint's pages are random, which zstd stores as they are; a process's memory
  # compresses some 3 to 5 times: each page becomes 1 KiB of random bytes and 3 KiB of a repeated
  # line, the same size
  python3 - "$bench"/archive-src/*/pages-*.img <<'PY'
import os, sys
for name in sys.argv[1:]:
    size = os.path.getsize(name)
    with open(name, "r+b") as f:
        for page in range(size // 4096):
            f.write(os.urandom(1024) + (b"criu2core archive page %08d " % page) * 96)
PY
  if [ "$parent" = no ]; then rm -rf "$bench/archive-src/pre-checkpoint" "$bench/archive-src/checkpoint/parent"; fi
  (cd "$bench/archive-src" && tar -cf - ./*) | zstd -q -"$level" -T1 -o "$archive"
  rm -rf "$bench/archive-src"
fi
echo "archive: $archive, $(stat -c %s "$archive") bytes (zstd -$level of $(find "$case_dir"/images "$case_dir"/pre -type f -exec cat {} + | wc -c) bytes of images)"
unpacked=$bench/archive-unpacked
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f\n", e - s}'; }
"${criu2core[@]}" info "$archive" >/dev/null 2>&1 || true # the launcher's class archive, and the file in the page cache
tools=() ours=()
for ((i = 0; i < runs; i++)); do
  rm -rf "$unpacked" && mkdir -p "$unpacked" && sync
  tools+=("$(seconds bash -c "zstd -dc '$archive' | tar -x -C '$unpacked'")")
  rm -rf "$unpacked" && sync
  ours+=("$(seconds "${criu2core[@]}" info "$archive")")
done
rm -rf "$unpacked"
t=$(printf '%s\n' "${tools[@]}" | median); o=$(printf '%s\n' "${ours[@]}" | median)
echo "zstd -dc | tar -x: median ${t} s (runs: ${tools[*]})"
echo "criu2core info:    median ${o} s (runs: ${ours[*]})"
awk -v o="$o" -v t="$t" 'BEGIN {printf "ratio: %.2f\n", o / t}'
