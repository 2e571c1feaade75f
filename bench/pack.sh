#!/usr/bin/env bash
# Benchmark of `hoist pack` (issue 5): how many bytes a client that holds one
# packed image downloads to get the next one, against the per-file ideal, a
# single-layer image and one layer per package.
#
# Trees (cached under $HOIST_BENCH_CACHE, default /var/tmp/hoist-bench):
#   base     `debootstrap bookworm` from the mirror apt is configured with
#   updated  base upgraded with bookworm-updates and bookworm-security enabled
#   curl     base with `apt-get install curl`
#   trixie   base moved to trixie with `apt-get full-upgrade` (a release change)
# Build scratch (/var/lib/apt/lists, /var/cache/apt, /var/log, /tmp) is
# emptied in all three. The first run takes a few minutes (debootstrap);
# later runs reuse the trees (delete the cache directory to rebuild them).
#
# Usage: bench/pack.sh [--layers N]...   (default: --layers 64)
# The report goes to bench/results/pack.txt and standard output.
# Environment: HOIST_BIN (default: a release build in $CACHE/target),
#              SOURCE_DATE_EPOCH (passed through to hoist pack when set).
# Needs root (debootstrap, chroot, owners in the store).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${HOIST_BENCH_CACHE:-/var/tmp/hoist-bench}
layers=()
while [ $# -gt 0 ]; do
    case $1 in
    --layers) layers+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--layers N]..." >&2; exit 2 ;;
    esac
done
[ ${#layers[@]} -gt 0 ] || layers=(64)

if [ "$(id -u)" != 0 ]; then
    echo "bench/pack.sh needs root (debootstrap, chroot)" >&2
    exit 1
fi
mkdir -p "$cache"

# The mirrors apt on this machine uses: the first Debian archive and
# security archive in /etc/apt/sources.list*.
apt_uris() {
    { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | sed 's/^URIs:[[:space:]]*//' | tr ' ' '\n'
      grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
    } | grep -v '^$' || true
}
mirror=$(apt_uris | grep -v -- '-security' | grep '/debian/\?$' | head -n1)
security=$(apt_uris | grep -- 'debian-security' | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

# Empties the build scratch of a tree (the directories themselves stay).
clean_scratch() {
    local t=$1 d
    for d in var/lib/apt/lists var/cache/apt var/log tmp; do
        [ -d "$t/$d" ] && find "$t/$d" -mindepth 1 -delete
    done
    return 0
}

# Runs a command in the chroot $1 with /proc mounted and services disabled.
in_chroot() {
    local t=$1
    shift
    mount -t proc proc "$t/proc"
    printf '#!/bin/sh\nexit 101\n' >"$t/usr/sbin/policy-rc.d"
    chmod 755 "$t/usr/sbin/policy-rc.d"
    local rc=0
    chroot "$t" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@" || rc=$?
    rm -f "$t/usr/sbin/policy-rc.d"
    umount "$t/proc"
    return $rc
}

# $cache/$1 from a copy of the tree $3 (default: the raw bootstrap), changed
# by the function $2.
derive() {
    local name=$1 change=$2 from=${3:-raw}
    [ -e "$cache/$name.done" ] && return 0
    echo "bench: preparing the $name tree" >&2
    rm -rf "$cache/$name.tmp" "$cache/$name"
    cp -a "$cache/$from" "$cache/$name.tmp"
    "$change" "$cache/$name.tmp"
    clean_scratch "$cache/$name.tmp"
    mv "$cache/$name.tmp" "$cache/$name"
    touch "$cache/$name.done"
}

no_change() { :; }

# Runs `apt-get update`, then `apt-get -y` with each of the argument lists
# "$3"... (split on spaces), in tree $1 with the sources list $2, and puts the
# tree's own sources list back: only the packages differ between the trees.
apt_with_sources() {
    local t=$1 sources=$2 saved args
    shift 2
    saved=$(cat "$t/etc/apt/sources.list")
    printf '%s\n' "$sources" >"$t/etc/apt/sources.list"
    in_chroot "$t" apt-get -q update
    for args in "$@"; do
        # shellcheck disable=SC2086 # one string of apt-get arguments
        in_chroot "$t" apt-get -q -y $args
    done
    printf '%s\n' "$saved" >"$t/etc/apt/sources.list"
}

upgrade() {
    apt_with_sources "$1" "deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main" upgrade
}

install_curl() {
    local t=$1
    in_chroot "$t" apt-get -q update
    in_chroot "$t" apt-get -q -y install curl
}

# A release change: the same system moved from bookworm to trixie the way an
# admin does it, sources switched and `full-upgrade`, keeping changed config
# files as they are.
to_trixie() {
    apt_with_sources "$1" "deb $mirror trixie main
deb $security trixie-security main" \
        "-o Dpkg::Options::=--force-confold full-upgrade" "autoremove --purge"
}

if [ ! -e "$cache/raw.done" ]; then
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
    rm -rf "$cache/raw"
    echo "bench: debootstrap bookworm from $mirror (a few minutes)" >&2
    debootstrap bookworm "$cache/raw" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
        tail -n 20 "$cache/debootstrap.log" >&2
        exit 1
    }
    touch "$cache/raw.done"
fi
derive base no_change
derive updated upgrade
derive curl install_curl
derive trixie to_trixie
# A second update on top of the first, for what a chain of `--prior` packs
# downloads at its second step.
derive updated-curl install_curl updated

echo "bench: trees ready in $cache" >&2

# hoist itself, built for speed in a target directory of the benchmark's
# own (HOIST_BIN overrides), and the tool that computes the baselines.
target=$cache/target
cd "$here"
if [ -z "${HOIST_BIN:-}" ]; then
    CARGO_TARGET_DIR=$target cargo build --release -q -p hoist
    HOIST_BIN=$target/release/hoist
fi
CARGO_TARGET_DIR=$target cargo build --release -q -p hoist-pack --example pack-cost
costtool=$target/release/examples/pack-cost

store=$cache/store
rm -rf "$store"
h() { "$HOIST_BIN" --root "$store" "$@"; }
# The value of a numeric field of a one-line JSON object.
field() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

mkdir -p "$here/bench/results"
results=$here/bench/results/pack.txt
: >"$results"
row() { printf '%-8s %-34s %7s %9s %7s %9s\n' "$@" | tee -a "$results"; }

for change in updated curl trixie; do
    base_json=$("$costtool" --layers 1 "$cache/base" "$cache/$change")
    ideal=$(field ideal <<<"$base_json")
    per_path=$(field ideal_per_path <<<"$base_json")
    row "$change" "what is downloaded" layers MB "x ideal" "x per-path"
    row "$change" "per-file ideal" - "$(mb "$ideal")" 1.000 "$(ratio "$ideal" "$per_path")"
    row "$change" "per-file ideal, hardlinks per path" - "$(mb "$per_path")" "$(ratio "$per_path" "$ideal")" 1.000
    t=$(field ideal_with_mtimes <<<"$base_json")
    row "$change" "per-file ideal, new mtimes count" - "$(mb "$t")" "$(ratio "$t" "$ideal")" "$(ratio "$t" "$per_path")"
    b=$(field bytes <<<"$base_json")
    row "$change" "single layer" "$(field layers <<<"$base_json")" "$(mb "$b")" "$(ratio "$b" "$ideal")" "$(ratio "$b" "$per_path")"
    pc=$("$costtool" --per-component "$cache/base" "$cache/$change")
    b=$(field bytes <<<"$pc")
    row "$change" "one layer per package ($(field new_layers <<<"$pc"))" "$(field layers <<<"$pc")" "$(mb "$b")" "$(ratio "$b" "$ideal")" "$(ratio "$b" "$per_path")"
    for n in "${layers[@]}"; do
        h image exists "bench/base:$n" || {
            start=$(date +%s)
            h pack -q "$cache/base" -t "bench/base:$n" --max-layers "$n" >/dev/null
            echo "bench: packed base into $n layers in $(($(date +%s) - start))s" >&2
        }
        h pack -q "$cache/$change" -t "bench/$change:$n" --max-layers "$n" >/dev/null
        h pack -q "$cache/$change" -t "bench/$change-prior:$n" --max-layers "$n" \
            --prior "bench/base:$n" >/dev/null
        for tag in "$change" "$change-prior"; do
            c=$(h image update-cost "bench/base:$n" "bench/$tag:$n" --format json)
            b=$(field bytes <<<"$c")
            what="hoist pack, $n layers"
            [ "$tag" = "$change" ] || what="$what, --prior"
            row "$change" "$what" "$(field layers <<<"$c")" "$(mb "$b")" "$(ratio "$b" "$ideal")" "$(ratio "$b" "$per_path")"
        done
    done
done

# The second step of a chain: the updated system gets curl. Without a prior
# both images are packed from their trees alone; with one, each is packed
# with the image before it as --prior (base, then updated).
base_json=$("$costtool" --layers 1 "$cache/updated" "$cache/updated-curl")
ideal=$(field ideal <<<"$base_json")
per_path=$(field ideal_per_path <<<"$base_json")
row "chain" "updated -> updated-curl" layers MB "x ideal" "x per-path"
row "chain" "per-file ideal" - "$(mb "$ideal")" 1.000 "$(ratio "$ideal" "$per_path")"
for n in "${layers[@]}"; do
    h pack -q "$cache/updated-curl" -t "bench/updated-curl:$n" --max-layers "$n" >/dev/null
    h pack -q "$cache/updated-curl" -t "bench/updated-curl-prior:$n" --max-layers "$n" \
        --prior "bench/updated-prior:$n" >/dev/null
    for from_to in "updated updated-curl" "updated-prior updated-curl-prior"; do
        set -- $from_to
        c=$(h image update-cost "bench/$1:$n" "bench/$2:$n" --format json)
        b=$(field bytes <<<"$c")
        what="hoist pack, $n layers"
        [ "$1" = updated ] || what="$what, --prior chain"
        row "chain" "$what" "$(field layers <<<"$c")" "$(mb "$b")" "$(ratio "$b" "$ideal")" "$(ratio "$b" "$per_path")"
    done
done

# What the images take in the store (every layer's unpacked size): an image
# packed with --prior keeps stale files in the layers it kept.
printf '\n%-34s %9s\n' "image" "MB stored" | tee -a "$results"
for n in "${layers[@]}"; do
    for tag in base updated updated-prior curl curl-prior trixie trixie-prior \
        updated-curl updated-curl-prior; do
        printf '%-34s %9s\n' "bench/$tag:$n" \
            "$(mb "$(h image inspect --format '{{.Size}}' "bench/$tag:$n")")" | tee -a "$results"
    done
done
echo "bench: results in $results" >&2
