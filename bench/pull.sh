#!/usr/bin/env bash
# Cold-store pull benchmark: `hoist pull` against `podman pull` and `skopeo copy`, all
# pulling the same large image from a docker-registry on 127.0.0.1.
#
# Every run starts from an empty store (fresh --root), with the page cache dropped
# first when the kernel allows it. See bench/README.md. Run as root:
#
#   sudo bench/pull.sh [-n ITERATIONS] [--compression gzip|zstd|none]
#                      [--tools "hoist podman skopeo-oci skopeo-cs"] [--no-build]
#
# Environment: BENCH_DIRS (space-separated host directories to copy into the image, one
# layer each), BENCH_TMPDIR (where stores and the registry live, default /var/tmp).
set -euo pipefail

ITERATIONS=5
COMPRESSION=gzip
TOOLS="hoist podman skopeo-oci skopeo-cs"
BUILD=yes
MIN_COMPRESSED_BYTES=$((100 * 1000 * 1000))
# Real content Debian installs: shared libraries, compilers, translations, scripts.
# Directories that do not exist on this host are skipped.
DEFAULT_DIRS="/usr/lib/x86_64-linux-gnu /usr/lib/gcc /usr/share/locale /usr/share/perl /usr/lib/python3 /usr/lib/python3.11"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

die() {
    echo "bench/pull.sh: error: $*" >&2
    exit 1
}

log() {
    echo "bench/pull.sh: $*" >&2
}

while [ $# -gt 0 ]; do
    case "$1" in
    -n | --iterations) ITERATIONS=${2:?"$1 needs a number"}; shift 2 ;;
    --compression) COMPRESSION=${2:?"$1 needs gzip, zstd or none"}; shift 2 ;;
    --tools) TOOLS=${2:?"$1 needs a list"}; shift 2 ;;
    --no-build) BUILD=no; shift ;;
    -h | --help) usage 0 ;;
    *) echo "bench/pull.sh: unknown argument: $1" >&2; usage 2 ;;
    esac
done
[[ "$ITERATIONS" =~ ^[1-9][0-9]*$ ]] || die "iterations must be a positive number, not '$ITERATIONS'"
for t in $TOOLS; do
    case "$t" in hoist | podman | skopeo-oci | skopeo-cs) ;; *) die "unknown tool '$t' in --tools" ;; esac
done
[[ " $TOOLS " == *" hoist "* ]] || die "--tools must include hoist: every ratio is relative to it"

[ "$(id -u)" -eq 0 ] || die "run as root (podman and hoist need it for their stores, and dropping the page cache does too)"
# A root shell started by sudo often lacks rustup's bin directory.
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
for tool in cargo skopeo podman jq curl /usr/bin/docker-registry; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found; run scripts/install-deps.sh"
done
if [ ! -f /etc/containers/containers.conf.d/50-hoist-tests.conf ]; then
    log "warning: /etc/containers/containers.conf.d/50-hoist-tests.conf missing; podman may not work (run scripts/install-deps.sh)"
fi

if [ "$BUILD" = yes ]; then
    log "building hoist and hoist-testenv (release)"
    (cd "$REPO" && cargo build --release -p hoist -p hoist-testenv) ||
        die "cargo build --release failed"
fi
HOIST="$REPO/target/release/hoist"
TESTENV="$REPO/target/release/hoist-testenv"
[ -x "$HOIST" ] || die "$HOIST missing (drop --no-build)"
[ -x "$TESTENV" ] || die "$TESTENV missing (drop --no-build)"

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-pull-bench.XXXXXX")
# containers/storage refuses a runroot path longer than 50 characters, so the runroots
# live in a short directory on /run (a tmpfs, like podman's default runroot).
RUNROOTS=$(mktemp -d /run/hpb.XXXXXX)

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cleanup() {
    local status=$?
    set +e
    "$TESTENV" registry-stop --dir "$WORK/registry" 2>/dev/null
    unmount_below "$WORK"
    unmount_below "$RUNROOTS"
    rm -rf "$WORK" "$RUNROOTS"
    [ $status -eq 0 ] || log "failed (exit $status); cleaned up $WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- registry --------------------------------------------------------------------
port=$(start_registry "$TESTENV" "$WORK/registry") || die "could not start the registry; see the messages above"
IMAGE="127.0.0.1:$port/bench/big:1"

# --- image -----------------------------------------------------------------------
DIRS=()
for d in ${BENCH_DIRS:-$DEFAULT_DIRS}; do
    if [ -d "$d" ]; then DIRS+=("$d"); else log "skipping missing directory $d"; fi
done
[ ${#DIRS[@]} -gt 0 ] || die "none of the directories exist: ${BENCH_DIRS:-$DEFAULT_DIRS}"
from_args=()
for d in "${DIRS[@]}"; do from_args+=(--from-dir "$d"); done
log "building and pushing $IMAGE ($COMPRESSION) from: ${DIRS[*]}"
push_start=$(date +%s)
"$TESTENV" push-image --registry "127.0.0.1:$port" bench/big:1 \
    --compression "$COMPRESSION" "${from_args[@]}" >"$WORK/digest" ||
    die "hoist-testenv push-image failed"
log "pushed in $(($(date +%s) - push_start)) s, digest $(cat "$WORK/digest")"

manifest=$(skopeo inspect --tls-verify=false --raw "docker://$IMAGE") ||
    die "skopeo inspect of $IMAGE failed"
compressed=$(jq '[.layers[].size] | add' <<<"$manifest")
layer_count=$(jq '.layers | length' <<<"$manifest")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }
log "image: $layer_count layers, $(mb "$compressed") MB compressed"
if [ "$compressed" -lt "$MIN_COMPRESSED_BYTES" ]; then
    die "the image is only $(mb "$compressed") MB compressed (< $(mb $MIN_COMPRESSED_BYTES) MB); add directories with BENCH_DIRS=\"...\""
fi

# --- runs ------------------------------------------------------------------------
CAN_DROP=no
if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then CAN_DROP=yes; fi
[ $CAN_DROP = yes ] || log "cannot drop the page cache here; runs are cold-store but warm-cache"

drop_caches() {
    sync
    if [ $CAN_DROP = yes ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

describe_tool() {
    case "$1" in
    hoist) echo "hoist pull" ;;
    podman) echo "podman pull" ;;
    skopeo-oci) echo "skopeo copy -> oci:" ;;
    skopeo-cs) echo "skopeo copy -> c/storage" ;;
    esac
}

run_tool() {
    local tool=$1 dir=$2 runroot=$3
    case "$tool" in
    hoist) "$HOIST" --root "$dir/root" pull --tls-verify=false "$IMAGE" ;;
    podman)
        podman --root "$dir/root" --runroot "$runroot" --storage-driver overlay \
            pull --tls-verify=false "$IMAGE"
        ;;
    skopeo-oci) skopeo copy --src-tls-verify=false "docker://$IMAGE" "oci:$dir/layout:bench" ;;
    skopeo-cs)
        skopeo copy --src-tls-verify=false "docker://$IMAGE" \
            "containers-storage:[overlay@$dir/root+$runroot]$IMAGE"
        ;;
    esac
}

mkdir -p "$WORK/runs" "$WORK/times"
for i in $(seq 1 "$ITERATIONS"); do
    for tool in $TOOLS; do
        dir="$WORK/runs/$tool-$i"
        runroot="$RUNROOTS/$tool-$i"
        mkdir -p "$dir" "$runroot"
        drop_caches
        start=$(date +%s%N)
        if ! run_tool "$tool" "$dir" "$runroot" >"$dir.log" 2>&1; then
            tail -n 30 "$dir.log" >&2
            die "$(describe_tool "$tool") failed in iteration $i (log above)"
        fi
        end=$(date +%s%N)
        ms=$(((end - start) / 1000000))
        echo "$ms" >>"$WORK/times/$tool"
        if [ "$i" -eq 1 ]; then
            # The store each tool leaves behind, as a sanity check that it really pulled
            # (and because the sizes differ: hoist keeps the compressed blobs too).
            du -sb "$dir" | cut -f1 >"$WORK/times/$tool.bytes"
        fi
        log "iteration $i/$ITERATIONS: $(describe_tool "$tool") $(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }') s"
        unmount_below "$dir"
        unmount_below "$runroot"
        rm -rf "$dir" "$dir.log" "$runroot"
    done
done

# --- report ----------------------------------------------------------------------
median_ms() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
min_ms() { sort -n "$1" | head -n 1; }
max_ms() { sort -n "$1" | tail -n 1; }
secs() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }

hoist_median=$(median_ms "$WORK/times/hoist")
table=$(
    printf '%-26s %9s %8s %8s %9s %10s\n' "tool" "median s" "min s" "max s" "x hoist" "store MB"
    for tool in $TOOLS; do
        f="$WORK/times/$tool"
        med=$(median_ms "$f")
        ratio=$(awk -v a="$med" -v b="$hoist_median" 'BEGIN { printf "%.2f", a / b }')
        printf '%-26s %9s %8s %8s %9s %10s\n' "$(describe_tool "$tool")" "$(secs "$med")" \
            "$(secs "$(min_ms "$f")")" "$(secs "$(max_ms "$f")")" "$ratio" \
            "$(mb "$(cat "$f.bytes")")"
    done
)
ratios=$(
    for tool in $TOOLS; do
        [ "$tool" = hoist ] && continue
        awk -v a="$(median_ms "$WORK/times/$tool")" -v b="$hoist_median" -v n="$tool" \
            'BEGIN { printf "%s/hoist = %.2f\n", n, a / b }'
    done
)
raw=$(for tool in $TOOLS; do printf '%-12s %s\n' "$tool" "$(tr '\n' ' ' <"$WORK/times/$tool")"; done)
revision=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")

report="hoist pull benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')
host:        $(uname -sr), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM
versions:    $("$HOIST" --version 2>/dev/null | head -n 1) (rev $revision); $(podman --version); $(skopeo --version)
image:       $IMAGE, $layer_count layers ($COMPRESSION), $(mb "$compressed") MB compressed
             busybox base + copies of: ${DIRS[*]}
runs:        $ITERATIONS per tool, fresh store each run, page cache dropped: $CAN_DROP
             (x hoist = tool median / hoist median; above 1 means hoist is faster)

$table

$ratios

raw times (ms):
$raw
"
echo
echo "$report"
mkdir -p "$REPO/bench/results"
out="$REPO/bench/results/pull-$(date -u +%Y%m%d-%H%M%S).txt"
printf '%s' "$report" >"$out"
log "results written to $out"
