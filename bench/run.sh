#!/usr/bin/env bash
# Container start benchmark (issue 3): `hoist run --rm IMG /bin/true` against
# `podman run --rm` (default network and --network none) and the raw OCI
# runtimes (`crun run`, `runc run`) on a bundle of the same image. Prints the
# median wall time of each and its ratio to podman's.
#
# Usage (as root):  bench/run.sh [-n ITERATIONS] [--no-build]
# Environment: HOIST_BIN (default: target/release/hoist, built unless
#   --no-build), BENCH_TMPDIR (default /var/tmp).
# podman must run with --runtime runc and the containers.conf that
# scripts/install-deps.sh installs; crun needs /sys/fs/cgroup/unified
# unmounted, which is done in a private mount namespace (unshare -m).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=20
BUILD=yes
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    --no-build) BUILD=no; shift ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
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

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-run-bench.XXXXXX")
cleanup() { bench_teardown "$HOIST" "$TESTENV" "$WORK"; }
trap cleanup EXIT

IMG=$(busybox_image "$TESTENV" "$WORK")
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
H=("$HOIST" --root "$WORK/root")
"${H[@]}" pull "$IMG" >/dev/null



# One function per runner; each runs one container to its end.
run_hoist() { "${H[@]}" run --rm "$IMG" /bin/true; }
run_hoist_none() { "${H[@]}" run --rm --network none "$IMG" /bin/true; }
RUNNERS=(hoist hoist_none)

if command -v podman >/dev/null; then
    P=(podman --root "$WORK/podman" --runroot "$WORK/podman-run" --runtime runc)
    "${P[@]}" pull --tls-verify=false "$IMG" >/dev/null 2>&1 || true
    run_podman() { "${P[@]}" run --rm "$IMG" /bin/true; }
    run_podman_none() { "${P[@]}" run --rm --network none "$IMG" /bin/true; }
    RUNNERS+=(podman podman_none)
fi

# A bundle of the same image for the raw runtimes: its layer as the rootfs.
# `runc spec`'s config has no seccomp filter, so the raw runtimes do not pay
# for compiling one (podman and hoist do, with their default profiles).
BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE/rootfs"
LOWER=$("${H[@]}" image inspect "$IMG" --format '{{.GraphDriver.Data.LowerDir}}')
cp -a "$LOWER/." "$BUNDLE/rootfs/"
if command -v runc >/dev/null || command -v crun >/dev/null; then
    (cd "$BUNDLE" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' config.json)
fi
if command -v runc >/dev/null; then
    run_runc() { runc --root "$WORK/runc" run --bundle "$BUNDLE" bench-runc; }
    RUNNERS+=(runc)
fi

# Interleaved rounds: every runner once per round, so load that comes and
# goes on the host spreads over all of them instead of skewing one.
declare -A TIMES RESULT
for k in "${RUNNERS[@]}"; do
    # Warm-up, and a failing runner is reported instead of timed.
    if ! "run_$k" >/dev/null 2>&1; then
        echo "FAILED: $k" >&2
        "run_$k" >&2 || true
        TIMES[$k]=FAILED
    fi
done
for _ in $(seq "$N"); do
    for k in "${RUNNERS[@]}"; do
        [ "${TIMES[$k]:-}" = FAILED ] && continue
        TIMES[$k]+=" $(time_us "run_$k")"
    done
done
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

# crun needs its own mount namespace (see the header), so it runs alone,
# after the others.
if command -v crun >/dev/null; then
    cat >"$WORK/crun.sh" <<SH
umount /sys/fs/cgroup/unified 2>/dev/null || true
$(declare -f time_us median_ms)
crun --root "$WORK/crun" run --bundle "$BUNDLE" bench-crun >/dev/null 2>&1 || { echo NaN; exit; }
T=()
for _ in \$(seq $N); do T+=(\$(time_us crun --root "$WORK/crun" run --bundle "$BUNDLE" bench-crun)); done
median_ms "\${T[@]}"
SH
    RESULT[crun]=$(unshare -m bash "$WORK/crun.sh")
fi

report() {
    echo "hoist run benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-31s %10s %14s %20s\n' "runner ($N runs)" "median ms" "vs podman" "vs podman --net none"
    for k in hoist hoist_none podman podman_none crun runc; do
        [ -n "${RESULT[$k]:-}" ] || continue
        case $k in
        hoist) label="hoist run --rm" ;;
        hoist_none) label="hoist run --rm --network none" ;;
        podman) label="podman run --rm" ;;
        podman_none) label="podman run --rm --network none" ;;
        *) label="$k run" ;;
        esac
        printf '%-31s %10s %14s %20s\n' "$label" "${RESULT[$k]}" "$(ratio "${RESULT[$k]}" "${RESULT[podman]:-}")" "$(ratio "${RESULT[$k]}" "${RESULT[podman_none]:-}")"
    done
    echo
    echo "raw times (µs):"
    for k in "${RUNNERS[@]}"; do echo "  $k:${TIMES[$k]:-}"; done
}
mkdir -p "$REPO/bench/results"
OUT=$REPO/bench/results/run-$(date -u +%Y%m%d-%H%M%S).txt
report | tee "$OUT"
echo "results written to $OUT"
