#!/usr/bin/env bash
# System call recording benchmark (issue 16): what `--seccomp-record`
# (hoist's eBPF recorder) costs. Prints the median wall time of
#   - `run --rm IMG true` without and with recording: the start-up added;
#   - `run --rm IMG dd bs=1` (about 2 system calls per byte) without and
#     with recording: the workload's slowdown, its start-up subtracted;
#   - the same dd on the host, alone and while a recorded container runs:
#     what the in-kernel filter costs processes that are not recorded;
# and the same for podman with Debian's oci-seccomp-bpf-hook (BCC), when
# that hook works on this kernel (it compiles C against the kernel's
# headers at every start: without /lib/modules/$(uname -r)/build or
# CONFIG_IKHEADERS it cannot; the report then says so and why).
#
# Usage (as root):  bench/seccomp.sh [-n ITERATIONS] [-b BYTES] [--no-build]
# Environment: HOIST_BIN (default: target/release/hoist, built unless
#   --no-build), BENCH_TMPDIR (default /var/tmp).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10
BYTES=300000
BUILD=yes
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    -b) BYTES=$2; shift 2 ;;
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

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-seccomp-bench.XXXXXX")
cleanup() {
    "$HOIST" --root "$WORK/root" rm -fa >/dev/null 2>&1 || true
    if [ -n "${P:-}" ]; then "${P[@]}" rm -fa >/dev/null 2>&1 || true; fi
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


DD=(dd if=/dev/zero of=/dev/null bs=1 count="$BYTES")
REC=$WORK/profile.json
run_hoist_true() { "${H[@]}" run --rm --network none "$IMG" true; }
run_hoist_rec_true() { "${H[@]}" run --rm --network none --seccomp-record "$REC" "$IMG" true; }
run_hoist_dd() { "${H[@]}" run --rm --network none "$IMG" "${DD[@]}"; }
run_hoist_rec_dd() { "${H[@]}" run --rm --network none --seccomp-record "$REC" "$IMG" "${DD[@]}"; }
run_host_dd() { /bin/busybox "${DD[@]}"; }
# The host's dd while a recorded container idles: every system call on the
# host passes the filter.
run_host_dd_recording() { /bin/busybox "${DD[@]}"; }
RUNNERS=(hoist_true hoist_rec_true hoist_dd hoist_rec_dd host_dd)

PODMAN_NOTE=""
if command -v podman >/dev/null; then
    P=(podman --root "$WORK/podman" --runroot "$WORK/podman-run" --runtime runc)
    "${P[@]}" pull --tls-verify=false "$IMG" >/dev/null 2>&1 || true
    ANN=(--annotation "io.containers.trace-syscall=of:$WORK/podman-profile.json")
    run_podman_true() { "${P[@]}" run --rm --network none "$IMG" true; }
    run_podman_rec_true() { "${P[@]}" run --rm --network none "${ANN[@]}" "$IMG" true; }
    run_podman_dd() { "${P[@]}" run --rm --network none "$IMG" "${DD[@]}"; }
    run_podman_rec_dd() { "${P[@]}" run --rm --network none "${ANN[@]}" "$IMG" "${DD[@]}"; }
    if ! [ -x /usr/libexec/oci/hooks.d/oci-seccomp-bpf-hook ]; then
        PODMAN_NOTE="oci-seccomp-bpf-hook is not installed (apt-get install oci-seccomp-bpf-hook)"
        RUNNERS+=(podman_true podman_dd)
    elif ! err=$(run_podman_rec_true 2>&1); then
        PODMAN_NOTE="podman with oci-seccomp-bpf-hook fails on this kernel: $(echo "$err" | tail -n 1)"
        RUNNERS+=(podman_true podman_dd)
    else
        RUNNERS+=(podman_true podman_rec_true podman_dd podman_rec_dd)
    fi
else
    PODMAN_NOTE="podman is not installed"
fi

declare -A TIMES RESULT
for k in "${RUNNERS[@]}"; do
    if ! "run_$k" >/dev/null 2>&1; then
        echo "FAILED: $k" >&2
        "run_$k" >&2 || true
        TIMES[$k]=FAILED
    fi
done
# Interleaved rounds, as bench/run.sh.
for _ in $(seq "$N"); do
    for k in "${RUNNERS[@]}"; do
        [ "${TIMES[$k]:-}" = FAILED ] && continue
        TIMES[$k]+=" $(time_us "run_$k")"
    done
done
# The host's dd while a recording runs (a recorded container sleeping).
"${H[@]}" run -d --name bench-recording --network none --seccomp-record "$WORK/idle.json" "$IMG" sleep 3600 >/dev/null
for _ in $(seq "$N"); do
    TIMES[host_dd_recording]+=" $(time_us run_host_dd_recording)"
done
"${H[@]}" rm -f -t 0 bench-recording >/dev/null
RUNNERS+=(host_dd_recording)
for k in "${RUNNERS[@]}"; do
    if [ "${TIMES[$k]:-FAILED}" = FAILED ]; then
        RESULT[$k]=NaN
    else
        # shellcheck disable=SC2086 # a list of numbers
        RESULT[$k]=$(median_ms ${TIMES[$k]})
    fi
done
if [ -n "${P:-}" ]; then
    "${P[@]}" system reset -f >/dev/null 2>&1 || true
fi

calc() { awk "BEGIN { printf \"$1\", $2 }" 2>/dev/null || echo -; }
# added START_PLAIN START_REC: ms added to a start.
added() { calc "%+.1f ms" "$2 - $1"; }
# slowdown PLAIN_TRUE PLAIN_WORK REC_TRUE REC_WORK: the workload's own time
# (its container's start subtracted) with recording against without.
slowdown() { calc "%+.1f%%" "(($4 - $3) / ($2 - $1) - 1) * 100"; }
report() {
    echo "seccomp recording benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "workload: ${DD[*]} (about $((BYTES * 2)) system calls); $N runs each, interleaved"
    printf '%-44s %10s\n' "runner" "median ms"
    for k in "${RUNNERS[@]}"; do printf '%-44s %10s\n' "$k" "${RESULT[$k]}"; done
    echo
    echo "hoist: start-up added by recording:      $(added "${RESULT[hoist_true]}" "${RESULT[hoist_rec_true]}")"
    echo "hoist: workload slowdown while recorded: $(slowdown "${RESULT[hoist_true]}" "${RESULT[hoist_dd]}" "${RESULT[hoist_rec_true]}" "${RESULT[hoist_rec_dd]}")"
    echo "host dd slowdown while a container is recorded: $(calc "%+.1f%%" "(${RESULT[host_dd_recording]} / ${RESULT[host_dd]} - 1) * 100")"
    if [ -n "${RESULT[podman_rec_true]:-}" ]; then
        echo "podman+hook: start-up added by recording:      $(added "${RESULT[podman_true]}" "${RESULT[podman_rec_true]}")"
        echo "podman+hook: workload slowdown while recorded: $(slowdown "${RESULT[podman_true]}" "${RESULT[podman_dd]}" "${RESULT[podman_rec_true]}" "${RESULT[podman_rec_dd]}")"
    fi
    [ -z "$PODMAN_NOTE" ] || echo "podman: $PODMAN_NOTE"
    echo
    echo "raw times (µs):"
    for k in "${RUNNERS[@]}"; do echo "  $k:${TIMES[$k]:-}"; done
}
mkdir -p "$REPO/bench/results"
OUT=$REPO/bench/results/seccomp-$(date -u +%Y%m%d-%H%M%S).txt
report | tee "$OUT"
echo "results written to $OUT"
