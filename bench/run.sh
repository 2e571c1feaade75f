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
cleanup() {
    "$HOIST" --root "$WORK/root" rm -fa >/dev/null 2>&1 || true
    "$TESTENV" registry-stop --dir "$WORK/registry" >/dev/null 2>&1 || true
    grep -o " $WORK[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$("$TESTENV" free-port)
"$TESTENV" registry --dir "$WORK/registry" --port "$PORT" >/dev/null
"$TESTENV" push-image --registry "127.0.0.1:$PORT" bench/busybox:1 >/dev/null
IMG=127.0.0.1:$PORT/bench/busybox:1
cat >"$WORK/registries.conf" <<CONF
[[registry]]
location = "127.0.0.1:$PORT"
insecure = true
CONF
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
H=("$HOIST" --root "$WORK/root")
"${H[@]}" pull "$IMG" >/dev/null

# ns since the epoch.
now() { date +%s%N; }

# median CMD...: runs CMD N times (after one warm-up), prints the median in ms.
median() {
    "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; "$@" >&2 || true; echo NaN; return; }
    local times=()
    for _ in $(seq "$N"); do
        local t0 t1
        t0=$(now)
        "$@" >/dev/null 2>&1
        t1=$(now)
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
}

declare -A RESULT

RESULT[hoist_none]=$(median "${H[@]}" run --rm --network none "$IMG" /bin/true)
RESULT[hoist]=$(median "${H[@]}" run --rm "$IMG" /bin/true)

if command -v podman >/dev/null; then
    P=(podman --root "$WORK/podman" --runroot "$WORK/podman-run" --runtime runc)
    "${P[@]}" pull --tls-verify=false "$IMG" >/dev/null 2>&1 || true
    RESULT[podman]=$(median "${P[@]}" run --rm "$IMG" /bin/true)
    RESULT[podman_none]=$(median "${P[@]}" run --rm --network none "$IMG" /bin/true)
    "${P[@]}" system reset -f >/dev/null 2>&1 || true
fi

# A bundle of the same image for the raw runtimes: its layer as the rootfs.
BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE/rootfs"
LOWER=$("${H[@]}" image inspect "$IMG" --format '{{.GraphDriver.Data.LowerDir}}')
cp -a "$LOWER/." "$BUNDLE/rootfs/"
if command -v runc >/dev/null; then
    (cd "$BUNDLE" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' config.json)
    RESULT[runc]=$(median runc --root "$WORK/runc" run --bundle "$BUNDLE" bench-runc)
fi
if command -v crun >/dev/null; then
    cat >"$WORK/crun.sh" <<SH
set -e
umount /sys/fs/cgroup/unified 2>/dev/null || true
$(declare -f now median)
N=$N
median crun --root "$WORK/crun" run --bundle "$BUNDLE" bench-crun
SH
    RESULT[crun]=$(unshare -m bash "$WORK/crun.sh")
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b == "NaN" || a == "NaN") print "-"; else printf "%.2fx", a / b }'; }
printf '%-28s %10s %14s %20s\n' "runner ($N runs)" "median ms" "vs podman" "vs podman --net none"
for k in hoist hoist_none podman podman_none crun runc; do
    [ -n "${RESULT[$k]:-}" ] || continue
    case $k in
    hoist) label="hoist run --rm" ;;
    hoist_none) label="hoist run --rm --network none" ;;
    podman) label="podman run --rm" ;;
    podman_none) label="podman run --rm --network none" ;;
    *) label="$k run" ;;
    esac
    printf '%-28s %10s %14s %20s\n' "$label" "${RESULT[$k]}" "$(ratio "${RESULT[$k]}" "${RESULT[podman]:-}")" "$(ratio "${RESULT[$k]}" "${RESULT[podman_none]:-}")"
done
