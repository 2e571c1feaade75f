#!/usr/bin/env bash
# Two or more hoist binaries against each other: `run --rm --network none
# IMG /bin/true` on one store, each binary once per round, so that a change's
# effect on a container's start is seen apart from the host's drift (which
# moves bench/run.sh's absolute figures by 20 % between runs).
#
# Usage (as root):  bench/run-ab.sh [-n ROUNDS] BIN BIN...
# Prints each binary's median, quartiles and its ratio to the first's, and
# keeps the report in bench/results/run-ab-*.txt.
# Environment: BENCH_TMPDIR (default /var/tmp).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=30
[ "${1:-}" = -n ] && { N=$2; shift 2; }
[ $# -ge 2 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
BINS=("$@")
for b in "${BINS[@]}"; do
    [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 1; }
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTENV=$REPO/target/release/hoist-testenv
[ -x "$TESTENV" ] || TESTENV=$REPO/target/debug/hoist-testenv
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-run-ab.XXXXXX")
cleanup() { bench_teardown "${BINS[0]}" "$TESTENV" "$WORK"; }
trap cleanup EXIT

IMG=$(busybox_image "$TESTENV" "$WORK")
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
"${BINS[0]}" --root "$WORK/root" pull "$IMG" >/dev/null

start() { "$1" --root "$WORK/root" run --rm --network none "$IMG" /bin/true; }
declare -A TIMES
for b in "${BINS[@]}"; do start "$b" >/dev/null; done # warm-up, and a check
for _ in $(seq "$N"); do
    for b in "${BINS[@]}"; do
        t=$(time_us start "$b")
        [ "$t" != FAILED ] || { echo "a start with $b failed" >&2; start "$b" >&2; exit 1; }
        TIMES[$b]+=" $t"
    done
done

report() {
    echo "hoist A/B start benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $N rounds"
    local b med q1 q3 first=""
    for b in "${BINS[@]}"; do
        # shellcheck disable=SC2086 # a list of numbers
        read -r med q1 q3 < <(printf '%s\n' ${TIMES[$b]} | sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f %.1f\n", a[int((NR+1)/2)]/1000, a[int((NR+3)/4)]/1000, a[int((3*NR+1)/4)]/1000}')
        first=${first:-$med}
        printf '%-50s median %6s ms  q1 %6s  q3 %6s  %s\n' "$b" "$med" "$q1" "$q3" "$(ratio "$med" "$first")"
    done
    echo "raw times (µs):"
    for b in "${BINS[@]}"; do echo "  $b:${TIMES[$b]}"; done
}
mkdir -p "$REPO/bench/results"
OUT=$REPO/bench/results/run-ab-$(date -u +%Y%m%d-%H%M%S).txt
report | tee "$OUT"
echo "results written to $OUT"
