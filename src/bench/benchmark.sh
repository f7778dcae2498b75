#!/usr/bin/env bash
# Converts a synthetic checkpoint and times, in the same run, what the conversion is measured
# against (medians of RUNS; docs/performance.md has the method and the results):
#   cp of the pages files         a plain copy of the same pages (--reflink=never: a copy everywhere)
#   cp --reflink=always of them   with --fs xfs or btrfs: a clone of the same pages
#   criu2core                     as users run it (src/bin/criu2core, or $CRIU2CORE), JVM start included
#   cp --sparse=always of cores   the cores criu2core wrote, copied with their holes: what writing
#                                 files of the same bytes and holes from the page cache costs
#   the kernel's own core dump    processes with the same memory (src/bench/kernel-dump.c, built with
#                                 gcc) killed with SIGABRT, from the signal until waitpid returns;
#                                 needs root, for core_pattern (pointed under target/, restored after)
#
# usage: [PROCESSES=N] [HOLES=N] [CRIU2CORE=COMMAND] [KERNEL=no] src/bench/benchmark.sh [--fs xfs|btrfs|ext4]
#            [SIZE_MIB] [VMAS] [RUNS] [warm|cold] [JAVA_OPTIONS...]
#   --fs TYPE  makes a TYPE filesystem in a file under target/bench, loop-mounts it (root), puts the
#             checkpoint and every output there, reports the new disk space each step took (df,
#             after sync) and whether the cores are byte for byte those converted on target/;
#             unmounts and removes it when done, also on failure or interrupt
#   SIZE_MIB  saved pages of the checkpoint (default 1024)
#   VMAS      number of VMAs (default 1000)
#   RUNS      runs of each (default 5)
#   warm      the pages files are in the page cache (default); cold: the caches are dropped
#             before every step (needs root), so all read from disk
#   JAVA_OPTIONS  passed to java instead of the launcher's defaults (JAVA_OPTS)
#   PROCESSES processes in the checkpoint's tree, sharing size and VMAs (default 1)
#   HOLES     a hole (a page never saved) every HOLES pages of each VMA (default 16)
#   CRIU2CORE the command that converts (default src/bin/criu2core; the README's other way:
#             CRIU2CORE="java -jar target/criu2core.jar")
#   KERNEL=no leaves the kernel's dump out
# The checkpoint is made under target/bench/ once per size, VMA and process count and kept.
# Before each timed step the previous output is removed and writeback settles (sync, one second).
#
# The stacks step: `stacks` on a checkpoint through a mount (the default) and through a copy in
# the cache (--no-mount), and the whole mounted core read against the converted one:
#
# usage: [RUNS=N] [HOLES=N] [SPARSE_FROM=GIB] [CRIU2CORE=COMMAND] src/bench/benchmark.sh stacks [SIZE_GIB...]
#   SIZE_GIB     saved pages of each checkpoint (default: 1 8 32), 1000 VMAs, 4 threads, a hole every
#                HOLES pages (default 256: a hole every 16 pages makes a pagemap of 10 MB at 32 GiB,
#                more than the launcher's heap reads); from SPARSE_FROM GiB on (default 16) the pages
#                files are sparse on disk,
#                one page in 64 holding data (gdb reads a few MiB of a core: the reads are the same;
#                a copy writes only the data, so its time and space there are lower bounds)
#   stacks, mounted       `criu2core stacks` (the default: mounted): wall time, time until its first
#                         frame is printed, new disk space (what its cache holds after, du)
#   stacks, --no-mount    the same converting into an empty cache, as before mounts
#   gdb alone             gdb -batch -ex 'thread apply all bt' on the converted core (page cache)
#   cat, mounted          cat core.PID > /dev/null of a fresh `criu2core mount` (pages files in the
#                         page cache; dense checkpoints only)
#   cat, converted        cat of the converted core, from the page cache
# Medians of RUNS (default 5); the pages files are in the page cache for every step (warm).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = stacks ]; then
  shift
  sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1 8 32)
  runs=${RUNS:-5}; sparse_from=${SPARSE_FROM:-16}; holes=${HOLES:-256}
  read -r -a criu2core <<< "${CRIU2CORE:-src/bin/criu2core}"
  bench=target/bench
  mkdir -p "$bench"
  export XDG_CACHE_HOME=$PWD/$bench/cache
  mnt=$bench/stacks-mnt
  cleanup() {
    if mountpoint -q "$mnt" 2>/dev/null; then fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt"; fi
    rm -rf "$bench/stacks-cache" "$bench/stacks-out"
    return 0
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  [ -f target/criu2core.jar ] && [ -d target/test-classes ] || mvn -B -q -DskipTests package test-compile
  median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
  now() { echo "${EPOCHREALTIME/,/.}"; }
  since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
  mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
  # runs stacks with its arguments; sets wall, first (seconds to the first frame) and disk (bytes
  # its cache holds after it, the mountpoint folders aside)
  stacks() {
    local cache=$bench/stacks-cache start line
    rm -rf "$cache"; mkdir -p "$cache"; sync; sleep 1
    start=$(now); first=
    while IFS= read -r line; do
      if [ -z "$first" ] && [[ $line == "    #0 "* ]]; then first=$(since "$start"); fi
    done < <("${criu2core[@]}" stacks "$@" --cache-dir "$cache" -q)
    wall=$(since "$start")
    disk=$(du -sB1 "$cache" | cut -f1)
    disk=$(( disk - $(find "$cache" -type d | wc -l) * 4096 ))
    rm -rf "$cache"
  }
  printf 'stacks step, %s runs each, criu2core: %s\n' "$runs" "${criu2core[*]}"
  for gib in "${sizes[@]}"; do
    sparse=0; [ "$gib" -ge "$sparse_from" ] && sparse=64
    case_dir=$bench/stacks-c${gib}g-h$holes$([ $sparse = 0 ] || echo -sparse)
    if [ ! -d "$case_dir/images" ]; then
      echo "making a ${gib} GiB checkpoint in $case_dir$([ $sparse = 0 ] || echo ", pages files sparse (1 page in $sparse)")"
      java -cp target/test-classes:target/criu2core.jar org.criu2core.bench.BenchCheckpoint "$case_dir" \
        $((gib * 1024)) 1000 1 4 4096 "$holes" $sparse >/dev/null
    fi
    images=$case_dir/images
    # the launcher's class archive is made by a conversion; and every pages file into the page cache
    rm -rf "$bench/stacks-out"
    "${criu2core[@]}" convert -q -D "$images" -o "$bench/stacks-out"
    core=$bench/stacks-out/core.1000
    cat "$case_dir"/images/pages-*.img "$case_dir"/pre/pages-*.img > /dev/null
    declare -A t=()
    for ((i = 0; i < runs; i++)); do
      stacks "$images"; t[mw]+="$wall "; t[mf]+="$first "; t[md]+="$disk "
      stacks "$images" --no-mount; t[cw]+="$wall "; t[cf]+="$first "; t[cd]+="$disk "
      start=$(now); gdb -q -batch -ex 'thread apply all bt' --core="$core" >/dev/null 2>&1; t[gdb]+="$(since "$start") "
      if [ $sparse = 0 ]; then
        cat "$core" > /dev/null
        start=$(now); cat "$core" > /dev/null; t[catc]+="$(since "$start") "
        # out of the page cache again, and the pages files in: both at once may not fit beside
        # what else the machine caches
        dd if="$core" iflag=nocache count=0 status=none
        cat "$case_dir"/images/pages-*.img "$case_dir"/pre/pages-*.img > /dev/null
        mkdir -p "$mnt"
        "${criu2core[@]}" mount -q "$images" "$mnt" & pid=$!
        while [ ! -f "$mnt/core.1000" ]; do kill -0 $pid; sleep 0.05; done
        start=$(now); cat "$mnt/core.1000" > /dev/null; t[catm]+="$(since "$start") "
        fusermount3 -u "$mnt"; wait $pid
      fi
    done
    m() { printf '%s\n' ${t[$1]} | median; }
    pages=$(du -sB1 --apparent-size "$case_dir"/images/pages-*.img "$case_dir"/pre/pages-*.img | awk '{s += $1} END {print s}')
    ondisk=$(du -sB1 "$case_dir"/images/pages-*.img "$case_dir"/pre/pages-*.img | awk '{s += $1} END {print s}')
    printf '\n%s GiB: %s of pages (%s on disk), core %s\n' "$gib" "$(mib "$pages")" "$(mib "$ondisk")" \
      "$(mib "$(stat -c %s "$core")")"
    printf '  %-22s %6s s to the first frame, %6s s in all, new disk %s   (runs: %s)\n' "stacks, mounted" \
      "$(m mf)" "$(m mw)" "$(mib "$(m md)")" "${t[mw]% }"
    printf '  %-22s %6s s to the first frame, %6s s in all, new disk %s   (runs: %s)\n' "stacks, --no-mount" \
      "$(m cf)" "$(m cw)" "$(mib "$(m cd)")" "${t[cw]% }"
    printf '  %-22s %6s s   (runs: %s)\n' "gdb alone" "$(m gdb)" "${t[gdb]% }"
    if [ $sparse = 0 ]; then
      printf '  %-22s %6s s   (runs: %s)\n' "cat, mounted" "$(m catm)" "${t[catm]% }"
      printf '  %-22s %6s s   (runs: %s)\n' "cat, converted" "$(m catc)" "${t[catc]% }"
      awk -v a="$(m catc)" -v b="$(m catm)" 'BEGIN {printf "  cat mounted runs at %.2f of cat converted\n", a / b}'
    fi
    unset t
  done
  exit 0
fi
fs=
if [ "${1:-}" = --fs ]; then
  fs=${2:?--fs wants xfs, btrfs or ext4}; shift 2
  case $fs in xfs|btrfs|ext4) ;; *) echo "benchmark: --fs takes xfs, btrfs or ext4, not $fs" >&2; exit 2 ;; esac
fi
size=${1:-1024}; vmas=${2:-1000}; runs=${3:-5}; mode=${4:-warm}; shift $(( $# < 4 ? $# : 4 )) || true
procs=${PROCESSES:-1}
holes=${HOLES:-16}
read -r -a criu2core <<< "${CRIU2CORE:-src/bin/criu2core}"
if [ $# -gt 0 ]; then export JAVA_OPTS="$*"; fi
bench=target/bench
mkdir -p "$bench"
# the launcher's class archives of this run's own: another copy of criu2core run meanwhile
# replaces those in ~/.cache/criu2core, and the next run would make them again
export XDG_CACHE_HOME=$PWD/$bench/cache

# everything the benchmark changes outside its folder is put back by this, however it ends
loop= mnt= saved_pattern= saved_map_count=
cleanup() {
  [ -n "$saved_pattern" ] && printf '%s\n' "$saved_pattern" > /proc/sys/kernel/core_pattern
  [ -n "$saved_map_count" ] && echo "$saved_map_count" > /proc/sys/vm/max_map_count
  if [ -n "$mnt" ] && mountpoint -q "$mnt"; then umount "$mnt" || umount --lazy "$mnt"; fi
  [ -n "$loop" ] && losetup --detach "$loop"
  [ -n "$fs" ] && rm -f "$bench/fs-$fs.img" && rmdir "$bench/fs-$fs" 2>/dev/null
  rm -rf "$bench/reference"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

settle() {
  sync; sleep 1
  if [ "$mode" = cold ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}

[ -f target/criu2core.jar ] && [ -d target/test-classes ] || mvn -B -q -DskipTests package test-compile
case_name=c${size}m-${vmas}v-${procs}p
[ "$holes" = 16 ] || case_name+=-h$holes
case_dir=$bench/$case_name
if [ ! -d "$case_dir/images" ]; then
  echo "making a ${size} MiB checkpoint with ${vmas} VMAs and ${procs} processes in $case_dir"
  java -cp target/test-classes:target/criu2core.jar org.criu2core.bench.BenchCheckpoint "$case_dir" "$size" "$vmas" \
    "$procs" 4 4096 "$holes" >/dev/null
fi
bytes=$(cat "$case_dir"/images/pages-*.img "$case_dir"/pre/pages-*.img | wc -c)

work=$bench
if [ -n "$fs" ]; then
  [ "$(id -u)" = 0 ] || { echo "benchmark: --fs makes a loop mount: run it as root" >&2; exit 1; }
  # room for the checkpoint, a core, a copy of it and the kernel's core, all of them copies on ext4
  truncate -s $(( (4 * bytes >> 20) + 1024 ))M "$bench/fs-$fs.img"
  # direct I/O: the loop device does not keep a second copy of the data in the page cache
  loop=$(losetup --find --show --direct-io=on "$bench/fs-$fs.img")
  case $fs in
    xfs) mkfs.xfs -q -f "$loop" ;;   # reflink=1 is mkfs.xfs's default
    btrfs) mkfs.btrfs -q -f "$loop" >/dev/null ;;
    ext4) mkfs.ext4 -q -F "$loop" ;;
  esac
  mnt=$bench/fs-$fs
  mkdir -p "$mnt"
  mount "$loop" "$mnt"
  work=$mnt
  cp -a "$case_dir" "$work/$case_name"
  case_dir=$work/$case_name
fi
pages=("$case_dir"/images/pages-*.img "$case_dir"/pre/pages-*.img)

# one run first: the launcher makes its class archive, and the pages files are read once
rm -rf "$bench/reference"
"${criu2core[@]}" convert -D "$bench/$case_name/images" -o "$bench/reference" -q

kernel=${KERNEL:-yes}
if [ "$kernel" != no ]; then
  if [ "$(id -u)" != 0 ] || ! command -v gcc >/dev/null; then
    echo "benchmark: the kernel's dump needs root (for core_pattern) and gcc; left out" >&2
    kernel=no
  else
    gcc -O2 -o "$bench/kernel-dump" src/bench/kernel-dump.c
    # the processes have VMAS / PROCESSES VMAs each, and some of their own
    need=$(( vmas / procs + 1000 ))
    if [ "$(cat /proc/sys/vm/max_map_count)" -lt "$need" ]; then
      saved_map_count=$(cat /proc/sys/vm/max_map_count)
      echo "$need" > /proc/sys/vm/max_map_count
    fi
  fi
fi
# prints the seconds into $bench/t; core_pattern is changed for as short a time as can be
kernel_dump() {
  local dir=$PWD/$work/kernel-cores
  mkdir -p "$dir"
  saved_pattern=$(cat /proc/sys/kernel/core_pattern)
  echo "$dir/core.%p" > /proc/sys/kernel/core_pattern
  (ulimit -c unlimited && exec "$bench/kernel-dump" "$size" "$vmas" "$procs" "$holes") > "$bench/t"
  printf '%s\n' "$saved_pattern" > /proc/sys/kernel/core_pattern
  saved_pattern=
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
used() { if [ -n "$fs" ]; then sync -f "$work"; df -B1 --output=used "$work" | tail -1; else echo 0; fi; }
disk() { awk -v b="$1" -v all="$bytes" 'BEGIN {printf "%.2f MiB, %.2f%% of the pages", b / 1048576, 100 * b / all}'; }

# the pages files share names (pages-1.img in images/ and pre/): each goes to its own target;
# OPTIONS are cp's, split at spaces
copy_each() {
  local options=$1 to=$2 n=0 f; shift 2
  # shellcheck disable=SC2086
  for f; do cp $options "$f" "$to/$n"; n=$((n + 1)); done
}
export -f copy_each
timed() { /usr/bin/time -f "%e %M" -o "$bench/t" "$@"; }

declare -A times space
steps=(cp clone criu2core cores kernel)
clone=no; [ "$fs" = xfs ] || [ "$fs" = btrfs ] && clone=yes
rss=0 same=yes
for ((i = 0; i < runs; i++)); do
  rm -rf "$work/cp" "$work/out" "$work/kernel-cores"; mkdir -p "$work/cp"; settle
  u=$(used); timed bash -c 'copy_each --reflink=never "$@"' _ "$work/cp" "${pages[@]}"
  times[cp]+="$(cut -d' ' -f1 "$bench/t") "; space[cp]+="$(( $(used) - u )) "
  if [ $clone = yes ]; then
    rm -rf "$work/cp"; mkdir -p "$work/cp"; settle
    u=$(used); timed bash -c 'copy_each --reflink=always "$@"' _ "$work/cp" "${pages[@]}"
    times[clone]+="$(cut -d' ' -f1 "$bench/t") "; space[clone]+="$(( $(used) - u )) "
  fi
  rm -rf "$work/cp"; mkdir -p "$work/cp"; settle
  u=$(used); timed "${criu2core[@]}" convert -D "$case_dir/images" -o "$work/out" -q
  read -r t m < "$bench/t"; (( m > rss )) && rss=$m
  times[criu2core]+="$t "; space[criu2core]+="$(( $(used) - u )) "
  for core in "$bench"/reference/core.*; do cmp -s "$core" "$work/out/${core##*/}" || same=no; done
  settle
  timed bash -c 'copy_each "--sparse=always --reflink=never" "$@"' _ "$work/cp" "$work"/out/core.*
  times[cores]+="$(cut -d' ' -f1 "$bench/t") "
  if [ "$kernel" != no ]; then
    rm -rf "$work/cp" "$work/out"; settle
    u=$(used); kernel_dump; times[kernel]+="$(cat "$bench/t") "; space[kernel]+="$(( $(used) - u )) "
  fi
done
rm -rf "$work/cp" "$work/out" "$work/kernel-cores"

label() {
  case $1 in
    cp) echo "cp of the pages files" ;; clone) echo "cp --reflink=always of them" ;; criu2core) echo "criu2core" ;;
    cores) echo "cp --sparse=always of the cores" ;; kernel) echo "the kernel's own core dump" ;;
  esac
}
where="on target/"; [ -n "$fs" ] && where="on a loop-mounted $fs"
printf 'checkpoint  %s: %d MiB of pages, %s VMAs, %s process(es), a hole every %s pages, %s cache, %s%s\n' \
  "$case_name" $((bytes >> 20)) "$vmas" "$procs" "$holes" "$mode" "$where" "${JAVA_OPTS:+, java $JAVA_OPTS}"
printf 'criu2core   %s\n' "${criu2core[*]}"
declare -A med
for s in "${steps[@]}"; do
  [ -n "${times[$s]:-}" ] || continue
  # shellcheck disable=SC2086
  med[$s]=$(printf '%s\n' ${times[$s]} | median)
  extra=
  # shellcheck disable=SC2086
  [ -n "$fs" ] && [ -n "${space[$s]:-}" ] && extra="   new disk space $(disk "$(printf '%s\n' ${space[$s]} | median)")"
  printf '%-32s %6s s   (runs: %s)%s\n' "$(label "$s")" "${med[$s]}" "${times[$s]% }" "$extra"
done
printf 'peak RSS of criu2core         %d MiB\n' $((rss / 1024))
[ -n "$fs" ] && printf 'cores the same bytes as converted on target/: %s\n' "$same"
# the ratio of the medians, and the median of each run's ratio: the references and criu2core of
# one run share that moment's disk, which on a shared machine varies more than they do
paired() {
  # shellcheck disable=SC2086
  paste -d' ' <(printf '%s\n' ${times[criu2core]}) <(printf '%s\n' ${times[$1]}) | awk '{print $1 / $2}' | median
}
printf 'criu2core / %-32s %-6s %s\n' "" "ratio" "median of the runs' ratios"
for s in cp clone cores kernel; do
  [ -n "${med[$s]:-}" ] && printf 'criu2core / %-32s %-6s %.2f\n' "$(label "$s")" "$(ratio "${med[criu2core]}" "${med[$s]}")" \
    "$(paired "$s")"
done
