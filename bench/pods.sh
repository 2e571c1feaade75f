#!/usr/bin/env bash
# Pod start benchmark (issue 13): `pod create`, two `create --pod`, `pod start`
# until both containers run and have said they are ready, for hoist and for
# podman 4.3 (--runtime runc, the containers.conf of scripts/install-deps.sh),
# with the pod on the default network and with --network none; and `kube
# play` of the same two-container pod. Prints the median wall time of each
# and its ratio to podman's.
#
# Usage (as root):  bench/pods.sh [-n ITERATIONS] [--no-build]
# Environment: HOIST_BIN (default: target/release/hoist, built unless
#   --no-build), BENCH_TMPDIR (default /var/tmp).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=20
BUILD=yes
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    --no-build) BUILD=no; shift ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
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
command -v podman >/dev/null || { echo "podman is needed (apt-get install podman)" >&2; exit 1; }
[ -f /etc/containers/containers.conf.d/50-hoist-tests.conf ] ||
    echo "warning: /etc/containers/containers.conf.d/50-hoist-tests.conf missing; podman may fail (run scripts/install-deps.sh)" >&2

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-pods-bench.XXXXXX")
# containers/storage refuses runroot paths over 50 characters.
PRUN=$(mktemp -d /run/hoist-pods-bench.XXXXXX)
H=("$HOIST" --root "$WORK/root")
P=(podman --root "$WORK/podman" --runroot "$PRUN" --runtime runc)
cleanup() {
    exec 3<&- 2>/dev/null || true
    "${H[@]}" pod rm -f -t 0 -a >/dev/null 2>&1 || true
    "${P[@]}" pod rm -f -t 0 -a >/dev/null 2>&1 || true
    "${P[@]}" system reset -f >/dev/null 2>&1 || true
    "$TESTENV" registry-stop --dir "$WORK/registry" >/dev/null 2>&1 || true
    unmount_below "$WORK"
    unmount_below "$PRUN"
    rm -rf "$WORK" "$PRUN"
}
trap cleanup EXIT

PORT=$("$TESTENV" free-port)
"$TESTENV" registry --dir "$WORK/registry" --port "$PORT" >/dev/null
"$TESTENV" push-image --registry "127.0.0.1:$PORT" bench/busybox:1 >/dev/null
IMG=127.0.0.1:$PORT/bench/busybox:1
insecure_registries_conf "$WORK/registries.conf" "127.0.0.1:$PORT"
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
"${H[@]}" pull "$IMG" >/dev/null
"${P[@]}" pull --tls-verify=false "$IMG" >/dev/null 2>&1

# Each container says it is ready by writing a line to this FIFO (bind
# mounted into it); the script holds it open read-write, so neither side
# blocks on open, and reads two lines: no polling, no forks while timing.
READY=$WORK/ready
mkfifo "$READY"
exec 3<>"$READY"

# One pod: create, two containers, start, both ready. $1: the engine's
# argv array name, $2: pod name, $3...: extra `pod create` flags.
pod_up() {
    local -n E=$1
    local pod=$2 line
    shift 2
    "${E[@]}" pod create --name "$pod" "$@" >/dev/null
    for c in a b; do
        "${E[@]}" create --pod "$pod" --name "$pod-$c" -v "$READY:/ready" "$IMG" \
            sh -c 'echo ready >/ready; exec sleep 3600' >/dev/null
    done
    "${E[@]}" pod start "$pod" >/dev/null
    read -r -t 60 -u 3 line && read -r -t 60 -u 3 line
}

pod_down() {
    local -n E=$1
    "${E[@]}" pod rm -f -t 0 "$2" >/dev/null 2>&1
}

# The same pod as Kubernetes YAML (written with printf: no fork), played
# until both containers are ready.
kube_up() {
    local -n E=$1
    local pod=$2 line c
    {
        printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n' "$pod"
        for c in a b; do
            printf '  - name: %s\n    image: %s\n' "$c" "$IMG"
            printf '    command: ["sh", "-c", "echo ready >/ready; exec sleep 3600"]\n'
            printf '    volumeMounts:\n    - name: ready\n      mountPath: /ready\n'
        done
        printf '  volumes:\n  - name: ready\n    hostPath:\n      path: %s\n' "$READY"
    } >"$WORK/$pod.yaml"
    "${E[@]}" kube play "$WORK/$pod.yaml" >/dev/null
    read -r -t 60 -u 3 line && read -r -t 60 -u 3 line
}

run_hoist() { pod_up H "$1"; }
run_hoist_none() { pod_up H "$1" --network none; }
run_podman() { pod_up P "$1"; }
run_podman_none() { pod_up P "$1" --network none; }
run_hoist_kube() { kube_up H "$1"; }
run_podman_kube() { kube_up P "$1"; }
RUNNERS=(hoist hoist_none podman podman_none hoist_kube podman_kube)



engine_of() { case $1 in hoist*) echo H ;; *) echo P ;; esac; }

# Warm-up (both engines build their pause image on first use); a runner
# that fails is reported instead of timed.
declare -A TIMES RESULT
for k in "${RUNNERS[@]}"; do
    # Kubernetes names: no underscores.
    pod=warm-${k//_/-}
    if ! "run_$k" "$pod" >/dev/null 2>&1; then
        echo "FAILED: $k" >&2
        TIMES[$k]=FAILED
    fi
    pod_down "$(engine_of "$k")" "$pod"
done
# Interleaved rounds: each runner once per round; the pod is removed
# (untimed) before the next runner starts.
for i in $(seq "$N"); do
    for k in "${RUNNERS[@]}"; do
        [ "${TIMES[$k]:-}" = FAILED ] && continue
        pod=b$i-${k//_/-}
        t=$(time_us "run_$k" "$pod")
        pod_down "$(engine_of "$k")" "$pod"
        if [ "$t" = FAILED ]; then
            echo "FAILED: $k in round $i" >&2
            TIMES[$k]=FAILED
        else
            TIMES[$k]+=" $t"
        fi
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

report() {
    echo "hoist pod benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "pod create + 2 x create --pod + pod start (or kube play of that pod), until both containers are ready; hoist: $HOIST"
    printf '%-34s %10s %10s\n' "runner ($N runs)" "median ms" "vs podman"
    for k in hoist podman hoist_none podman_none hoist_kube podman_kube; do
        case $k in
        hoist) label="hoist pod" base=podman ;;
        podman) label="podman pod" base=podman ;;
        hoist_none) label="hoist pod --network none" base=podman_none ;;
        podman_none) label="podman pod --network none" base=podman_none ;;
        hoist_kube) label="hoist kube play" base=podman_kube ;;
        podman_kube) label="podman kube play" base=podman_kube ;;
        esac
        printf '%-34s %10s %10s\n' "$label" "${RESULT[$k]}" "$(ratio "${RESULT[$k]}" "${RESULT[$base]}")"
    done
    echo "hoist/podman = $(ratio "${RESULT[hoist]}" "${RESULT[podman]}") (default network), $(ratio "${RESULT[hoist_none]}" "${RESULT[podman_none]}") (--network none), $(ratio "${RESULT[hoist_kube]}" "${RESULT[podman_kube]}") (kube play)"
    echo
    echo "raw times (µs):"
    for k in "${RUNNERS[@]}"; do echo "  $k:${TIMES[$k]:-}"; done
}
mkdir -p "$REPO/bench/results"
OUT=$REPO/bench/results/pods-$(date -u +%Y%m%d-%H%M%S).txt
report | tee "$OUT"
echo "results written to $OUT"
