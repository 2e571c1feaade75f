#!/usr/bin/env bash
# A Debian bookworm root with gcc, as a tarball that `hoist import` (or
# `podman import`) turns into a base image: what the multi-stage build test
# (crates/cli/tests/build_gcc.rs) and bench/build.sh compile C in. Made once
# with `debootstrap --variant=minbase --include=gcc,libc6-dev bookworm` and
# kept; running it again does nothing.
#
# Usage (as root):  scripts/make-gcc-base.sh [TARBALL]
# Default TARBALL: $HOIST_GCC_BASE, else /var/cache/hoist/gcc-bookworm.tar.
set -euo pipefail

TAR=${1:-${HOIST_GCC_BASE:-/var/cache/hoist/gcc-bookworm.tar}}
[ -e "$TAR" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "make-gcc-base: needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null

# The mirror scripts/install-criu.sh debootstraps from too.
MIRROR=http://deb.debian.org/debian

DIR=$(dirname "$TAR")
TREE=$(mktemp -d "$DIR/gcc-tree.XXXXXX" 2>/dev/null || { mkdir -p "$DIR" && mktemp -d "$DIR/gcc-tree.XXXXXX"; })
LOG=$DIR/gcc-debootstrap.log
trap 'rm -rf "$TREE" "$TAR.tmp"' EXIT
echo "make-gcc-base: debootstrap --variant=minbase --include=gcc,libc6-dev bookworm from $MIRROR (a few minutes, once)" >&2
debootstrap --variant=minbase --include=gcc,libc6-dev bookworm "$TREE" "$MIRROR" >"$LOG" 2>&1 || {
    tail -n 20 "$LOG" >&2
    echo "make-gcc-base: debootstrap failed; its log is $LOG" >&2
    exit 1
}
rm -rf "$TREE/var/lib/apt/lists/"* "$TREE/var/cache/apt/"*
# /dev, /proc and /sys stay as empty directories: the runtime mounts them.
tar --sort=name --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
    --exclude='./sys/*' -C "$TREE" -cf "$TAR.tmp" .
mv "$TAR.tmp" "$TAR"
echo "make-gcc-base: $TAR ($(du -h "$TAR" | cut -f1))" >&2
