#!/usr/bin/env bash
# Checkpoint/restore benchmark (issue 15): a running container holding
# 256 MB of touched memory is checkpointed and restored by
#   - hoist: `container checkpoint -e FILE` / `container restore --import FILE`,
#     and in place (`container checkpoint` / `container restore`);
#   - podman 4.3 with runc: the same commands;
#   - raw runc: `runc checkpoint --image-path DIR` / `runc restore -d`
#     (CRIU's dump and restore with nothing around them: the floor).
# Each step's median wall time over interleaved rounds, and ratios against
# podman and raw runc. Goal (issue 15): hoist at most 0.5x podman, within
# 1.2x of raw runc.
#
# Usage (as root):  bench/checkpoint.sh [-n ITERATIONS] [-m MEGABYTES] [--no-build]
# Environment: HOIST_BIN (default: target/release/hoist, built unless
#   --no-build), BENCH_TMPDIR (default /var/tmp). Needs CRIU 4.x
#   (scripts/install-criu.sh), podman and runc.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10
MB=256
BUILD=yes
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    -m) MB=$2; shift 2 ;;
    --no-build) BUILD=no; shift ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOIST=${HOIST_BIN:-$REPO/target/release/hoist}
TESTENV=$REPO/target/release/hoist-testenv
if [ "$BUILD" = yes ] && [ -z "${HOIST_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -p hoist -p hoist-testenv)
fi
[ -x "$TESTENV" ] || TESTENV=$REPO/target/debug/hoist-testenv
[ -x "$HOIST" ] || { echo "no hoist binary at $HOIST" >&2; exit 1; }
criu --version | grep -q '^Version: [4-9]' ||
    { echo "CRIU 4.x is needed: run scripts/install-criu.sh" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-checkpoint-bench.XXXXXX")
RUNC_ROOT=$WORK/runc-state
cleanup() {
    "$HOIST" --root "$WORK/root" rm -fa -t 0 >/dev/null 2>&1 || true
    if [ -n "${P:-}" ]; then "${P[@]}" rm -fa -t 0 >/dev/null 2>&1 || true; fi
    runc --root "$RUNC_ROOT" delete -f bench-runc >/dev/null 2>&1 || true
    "$TESTENV" registry-stop --dir "$WORK/registry" >/dev/null 2>&1 || true
    unmount_below "$WORK"
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$("$TESTENV" free-port)
"$TESTENV" registry --dir "$WORK/registry" --port "$PORT" >/dev/null
"$TESTENV" push-image --registry "127.0.0.1:$PORT" bench/busybox:1 >/dev/null
IMG=127.0.0.1:$PORT/bench/busybox:1
insecure_registries_conf "$WORK/registries.conf" "127.0.0.1:$PORT"
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
H=("$HOIST" --root "$WORK/root")
"${H[@]}" pull "$IMG" >/dev/null
P=(podman --root "$WORK/podman" --runroot "$WORK/podman-run" --runtime runc)
"${P[@]}" pull --tls-verify=false "$IMG" >/dev/null 2>&1

# The workload: awk holds a string of $MB MB (every page written) and waits.
HOLD=(sh -c "awk 'BEGIN { s = sprintf(\"%${MB}000000s\", \"\"); system(\"sleep 100000\") }'")

# A runc bundle of the same image, running the same workload.
BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE/rootfs" "$RUNC_ROOT"
"${P[@]}" create --name bench-export "$IMG" true >/dev/null
"${P[@]}" export bench-export | tar -x -C "$BUNDLE/rootfs"
"${P[@]}" rm bench-export >/dev/null
(cd "$BUNDLE" && runc spec)
python3 - "$BUNDLE/config.json" "${HOLD[@]}" <<'EOF'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = args
spec["root"]["readonly"] = False
json.dump(spec, open(path, "w"))
EOF


# The command names of process PID's descendants, one a line.
descendants() {
    local c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        cat /proc/"$c"/comm 2>/dev/null || true
        descendants "$c"
    done
}

# Waits until process PID's tree holds all of the workload's memory: awk
# starts its `sleep` only once the string is built. (Waiting for the RSS
# alone returned part-way through, while awk still wrote, and each dump
# then caught a different amount of memory: 250 to 400 MB.)
wait_touched() {
    local pid=$1 want=$((MB * 900)) rss i
    for i in $(seq 600); do
        if descendants "$pid" | grep -qx sleep; then
            rss=$(for p in $pid $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
                awk '/^VmRSS/ { print $2 }' /proc/"$p"/status 2>/dev/null
            done | sort -n | tail -n 1)
            [ "${rss:-0}" -ge "$want" ] && return 0
        fi
        sleep 0.05
    done
    echo "the workload never touched its memory" >&2
    return 1
}

declare -A TIMES
# time_settled CMD...: time_us after a sync, so that no step pays for
# writing back what an earlier one (of any tool) left dirty: each dump
# writes hundreds of MB of images, and the kernel writes them back 30 s
# later, in the middle of whichever step runs then.
time_settled() {
    sync
    time_us "$@"
}

# hoist or podman: ENGINE... (an array name) then the steps, timed.
round_engine() {
    local tag=$1; shift
    local -a E=("$@")
    local archive=$WORK/$tag.tar.zst pid
    "${E[@]}" run -d --name "bench-$tag" --network none "$IMG" "${HOLD[@]}" >/dev/null
    pid=$("${E[@]}" inspect --format '{{.State.Pid}}' "bench-$tag")
    wait_touched "$pid"
    TIMES[${tag}_checkpoint_export]+=" $(time_settled "${E[@]}" container checkpoint -e "$archive" "bench-$tag")"
    "${E[@]}" rm -f -t 0 "bench-$tag" >/dev/null
    TIMES[${tag}_restore_import]+=" $(time_settled "${E[@]}" container restore --import "$archive")"
    pid=$("${E[@]}" inspect --format '{{.State.Pid}}' "bench-$tag")
    TIMES[${tag}_checkpoint]+=" $(time_settled "${E[@]}" container checkpoint "bench-$tag")"
    TIMES[${tag}_restore]+=" $(time_settled "${E[@]}" container restore "bench-$tag")"
    "${E[@]}" rm -f -t 0 "bench-$tag" >/dev/null
    rm -f "$archive"
}
round_runc() {
    local images=$WORK/runc-images pid
    rm -rf "$images"
    (cd "$BUNDLE" && runc --root "$RUNC_ROOT" run -d bench-runc </dev/null >/dev/null 2>&1)
    pid=$(runc --root "$RUNC_ROOT" state bench-runc | awk -F'[:,]' '/"pid"/ { gsub(/ /, "", $2); print $2 }')
    wait_touched "$pid"
    TIMES[runc_checkpoint]+=" $(time_settled runc --root "$RUNC_ROOT" checkpoint --image-path "$images" bench-runc)"
    TIMES[runc_restore]+=" $(cd "$BUNDLE" && time_settled runc --root "$RUNC_ROOT" restore -d --image-path "$images" bench-runc)"
    runc --root "$RUNC_ROOT" delete -f bench-runc >/dev/null 2>&1 || true
}

for _ in $(seq "$N"); do
    round_engine hoist "${H[@]}"
    round_engine podman "${P[@]}"
    round_runc
done

declare -A R
for k in "${!TIMES[@]}"; do
    # shellcheck disable=SC2086 # a list of numbers
    R[$k]=$(median_ms ${TIMES[$k]})
done
report() {
    echo "checkpoint/restore benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "workload: awk holding ${MB} MB of written memory; $N rounds, interleaved; $(criu --version | head -n 1 | tr -s ' ') $(runc --version | head -n 1)"
    printf '%-22s %10s %10s %10s %12s %12s\n' step "hoist ms" "podman ms" "runc ms" "vs podman" "vs runc"
    local step runc_step
    for step in checkpoint_export restore_import checkpoint restore; do
        case $step in checkpoint*) runc_step=runc_checkpoint ;; *) runc_step=runc_restore ;; esac
        printf '%-22s %10s %10s %10s %12s %12s\n' "$step" "${R[hoist_$step]}" "${R[podman_$step]}" "${R[$runc_step]}" \
            "$(ratio "${R[hoist_$step]}" "${R[podman_$step]}")" "$(ratio "${R[hoist_$step]}" "${R[$runc_step]}")"
    done
    echo "runc's steps dump and restore only (no archive): compare them with hoist's in-place steps."
    echo
    echo "raw times (µs), in round order:"
    local k
    for k in $(printf '%s\n' "${!TIMES[@]}" | sort); do
        echo "  $k:${TIMES[$k]}"
    done
}
mkdir -p "$REPO/bench/results"
OUT=$REPO/bench/results/checkpoint-$(date -u +%Y%m%dT%H%M%SZ).txt
report | tee "$OUT"
