#!/usr/bin/env bash
# Build benchmark (issue 14): a two-stage build of a small C program (eight
# library files compiled in a Debian bookworm stage with gcc, linked
# statically, copied into scratch) by `hoist build`, `podman build` (the
# buildah inside podman 4.3, --runtime runc) and Debian's `buildah bud
# --layers`, each with a store of its own, in interleaved rounds. Three
# builds are timed per engine and round:
#   cold       --no-cache: every step runs (the base image is already local)
#   no-change  the same build again: every step should come from the cache
#   one-file   main.c edited: its COPY, the link and the final COPY run again
# Prints the median wall time of each and its ratio to podman's, and how many
# steps each engine took from its cache in its last no-change build.
#
# Usage (as root):  bench/build.sh [-n ROUNDS] [--no-build]
# Environment: HOIST_BIN (default: target/release/hoist, built unless
#   --no-build), HOIST_GCC_BASE (default /var/cache/hoist/gcc-bookworm.tar:
#   the base image's tarball, made once by scripts/make-gcc-base.sh),
#   BENCH_TMPDIR (default /var/tmp).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=5
BUILD=yes
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    --no-build) BUILD=no; shift ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench/build.sh needs root (debootstrap, the stores)" >&2; exit 1; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOIST=${HOIST_BIN:-$REPO/target/release/hoist}
if [ "$BUILD" = yes ] && [ -z "${HOIST_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release -p hoist)
fi
[ -x "$HOIST" ] || { echo "no hoist binary at $HOIST" >&2; exit 1; }
command -v podman >/dev/null || { echo "podman is needed (apt-get install podman)" >&2; exit 1; }
command -v buildah >/dev/null || apt-get install -y -q buildah
[ -f /etc/containers/containers.conf.d/50-hoist-tests.conf ] ||
    echo "warning: /etc/containers/containers.conf.d/50-hoist-tests.conf missing; podman may fail (run scripts/install-deps.sh)" >&2

# The base image's tree (Debian bookworm with gcc), made once and kept.
BASE_TAR=${HOIST_GCC_BASE:-/var/cache/hoist/gcc-bookworm.tar}
BASE=localhost/bench/gcc:bookworm
"$REPO/scripts/make-gcc-base.sh" "$BASE_TAR"

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-build-bench.XXXXXX")
# containers/storage refuses runroot paths over 50 characters.
PRUN=$(mktemp -d /run/hoist-build-bench.XXXXXX)
H=("$HOIST" --root "$WORK/hoist")
P=(podman --root "$WORK/podman" --runroot "$PRUN/podman" --runtime runc)
B=(buildah --root "$WORK/buildah" --runroot "$PRUN/buildah" --storage-driver overlay)
cleanup() {
    "${P[@]}" system reset -f >/dev/null 2>&1 || true
    podman --root "$WORK/buildah" --runroot "$PRUN/buildah" system reset -f >/dev/null 2>&1 || true
    unmount_below "$WORK"
    unmount_below "$PRUN"
    rm -rf "$WORK" "$PRUN"
}
trap cleanup EXIT

echo "bench: importing $BASE into the three stores" >&2
"${H[@]}" import "$BASE_TAR" "$BASE" >/dev/null
"${P[@]}" import "$BASE_TAR" "$BASE" >/dev/null
# buildah shares containers/storage with podman: podman imports into its store.
podman --root "$WORK/buildah" --runroot "$PRUN/buildah" import "$BASE_TAR" "$BASE" >/dev/null

# The project: eight library files and main.c; one context per engine, so
# an edit for one engine never invalidates another's cache.
write_context() {
    local dir=$1 i
    mkdir -p "$dir/lib"
    for i in 1 2 3 4 5 6 7 8; do
        cat >"$dir/lib/part$i.c" <<EOF
#include <string.h>
unsigned long part$i(const char *s) {
    unsigned long h = $i;
    for (size_t k = 0; k < strlen(s); k++) h = h * 131 + (unsigned char)s[k];
    return h;
}
EOF
    done
    {
        echo '#include <stdio.h>'
        for i in 1 2 3 4 5 6 7 8; do echo "unsigned long part$i(const char *);"; done
        echo 'int main(void) {'
        echo '    unsigned long h = 0;'
        for i in 1 2 3 4 5 6 7 8; do echo "    h ^= part$i(\"hoist\");"; done
        echo '    printf("built %lx\n", h);'
        echo '    return 0;'
        echo '}'
    } >"$dir/main.c"
    cat >"$dir/Containerfile" <<EOF
FROM $BASE AS compile
WORKDIR /src
COPY lib/ lib/
RUN for f in lib/*.c; do gcc -O2 -c "\$f" -o "\${f%.c}.o"; done
COPY main.c ./
RUN gcc -O2 -static -o /hello main.c lib/*.o
FROM scratch
COPY --from=compile /hello /hello
ENTRYPOINT ["/hello"]
EOF
}

# build ENGINE CONTEXT [FLAGS...]: one build, tagged bench/app.
build_hoist() { "${H[@]}" build -t bench/app "${@:2}" "$1"; }
build_podman() { "${P[@]}" build -t bench/app "${@:2}" "$1"; }
build_buildah() { "${B[@]}" bud --runtime runc --layers -t bench/app "${@:2}" "$1"; }
ENGINES=(hoist podman buildah)
STEPS=(cold nochange onefile)

# Each engine's result runs and prints the same line (checked once, untimed).
check_result() {
    local out
    case $1 in
    hoist) out=$("${H[@]}" run --rm --network none bench/app) ;;
    podman) out=$("${P[@]}" run --rm --network none bench/app) ;;
    buildah) out=$(podman --root "$WORK/buildah" --runroot "$PRUN/buildah" --runtime runc \
        run --rm --network none bench/app) ;;
    esac
    case $out in
    "built "*) ;;
    *) echo "bench: $1's image printed '$out', not 'built ...'" >&2; exit 1 ;;
    esac
}

declare -A TIMES RESULT HITS
for e in "${ENGINES[@]}"; do
    write_context "$WORK/ctx-$e"
    echo "bench: warm-up build with $e" >&2
    "build_$e" "$WORK/ctx-$e" >"$WORK/warmup-$e.log" 2>&1 || {
        tail -n 20 "$WORK/warmup-$e.log" >&2
        echo "bench: $e cannot build the project" >&2
        exit 1
    }
    check_result "$e"
done
for i in $(seq "$N"); do
    echo "bench: round $i of $N" >&2
    for e in "${ENGINES[@]}"; do
        ctx=$WORK/ctx-$e
        TIMES[${e}_cold]+=" $(time_us "build_$e" "$ctx" --no-cache)"
        t0=${EPOCHREALTIME/[.,]/}
        "build_$e" "$ctx" >"$WORK/nochange-$e.log" 2>&1 || echo "bench: $e's no-change build failed" >&2
        t1=${EPOCHREALTIME/[.,]/}
        TIMES[${e}_nochange]+=" $((t1 - t0))"
        printf '/* edit %s */\n' "$i" >>"$ctx/main.c"
        TIMES[${e}_onefile]+=" $(time_us "build_$e" "$ctx")"
    done
done
for e in "${ENGINES[@]}"; do
    check_result "$e"
    HITS[$e]=$(grep -c -i "using cache" "$WORK/nochange-$e.log" || true)
    for s in "${STEPS[@]}"; do
        # shellcheck disable=SC2086 # a list of numbers
        RESULT[${e}_$s]=$(median_ms ${TIMES[${e}_$s]})
    done
done

report() {
    echo "hoist build benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "two-stage static C build on $BASE (debootstrap minbase + gcc); hoist: $HOIST; $("${P[@]}" --version); $(buildah --version | cut -d' ' -f1-3)"
    printf '%-12s %12s %12s %12s %10s %10s\n' "build ($N)" "hoist ms" "podman ms" "buildah ms" "h/podman" "h/buildah"
    for s in "${STEPS[@]}"; do
        printf '%-12s %12s %12s %12s %10s %10s\n' "$s" "${RESULT[hoist_$s]}" "${RESULT[podman_$s]}" \
            "${RESULT[buildah_$s]}" "$(ratio "${RESULT[hoist_$s]}" "${RESULT[podman_$s]}")" \
            "$(ratio "${RESULT[hoist_$s]}" "${RESULT[buildah_$s]}")"
    done
    echo "steps the last no-change build took from its cache ('Using cache' lines): hoist ${HITS[hoist]}, podman ${HITS[podman]}, buildah ${HITS[buildah]}"
    echo
    echo "raw times (µs):"
    for e in "${ENGINES[@]}"; do
        for s in "${STEPS[@]}"; do echo "  ${e}_$s:${TIMES[${e}_$s]}"; done
    done
}
mkdir -p "$REPO/bench/results"
OUT=$REPO/bench/results/build-$(date -u +%Y%m%d-%H%M%S).txt
report | tee "$OUT"
echo "results written to $OUT"
