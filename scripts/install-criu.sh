#!/usr/bin/env bash
# Builds and installs CRIU 4.x into /usr/local from Debian trixie's source package, and
# makes the cached trixie root that the checkpoint tests run checkpointctl in.
#
# Why: bookworm's criu 3.17 fails on current kernels (vDSO handling), and trixie's
# binaries need trixie's glibc. Trixie is added as a deb-src suite only, with a pin that
# keeps apt from ever installing a trixie binary package, so nothing else on the host is
# upgraded. Run as root; safe to run any number of times (skips what is already done).
set -euo pipefail

CRIU_PREFIX=/usr/local
HERE=$(cd "$(dirname "$0")" && pwd)
# hoist's patches to CRIU 4.1.1, applied in this order. The build records their
# checksum, so that a CRIU built before a patch was added is built again.
PATCHES=("$HERE/criu-so-passcred.patch")
BUILD_STAMP=$CRIU_PREFIX/share/hoist/criu-build
BUILD_DIR=/var/cache/hoist/criu-build
TRIXIE_ROOT=${HOIST_TRIXIE_ROOT:-/var/cache/hoist/trixie-root}
MIRROR=http://deb.debian.org/debian
SOURCES=/etc/apt/sources.list.d/hoist-trixie-src.sources
PIN=/etc/apt/preferences.d/hoist-trixie-pin

# CRIU's build dependencies, all from bookworm (the ones for building its documentation
# and Debian's packaging are left out: only the binary is built).
BUILD_DEPS=(
    build-essential patch pkg-config python3 python3-protobuf protobuf-compiler
    protobuf-c-compiler libprotobuf-dev libprotobuf-c-dev libnl-3-dev libnet1-dev
    libcap-dev libaio-dev libbsd-dev libgnutls28-dev libnftables-dev libdrm-dev
    uuid-dev iproute2 dpkg-dev debootstrap
)

die() {
    echo "install-criu: error: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it calls apt-get and installs into $CRIU_PREFIX)"

# criu --version prints "Version: 4.1.1" (and a GitCommitID line on git builds).
criu_major() {
    local bin
    bin=$(command -v criu 2>/dev/null) || { echo 0; return; }
    "$bin" --version 2>/dev/null | sed -n 's/^Version: *\([0-9][0-9]*\)\..*/\1/p' | head -n1 | grep . || echo 0
}

add_trixie_sources() {
    local text='# Written by hoist scripts/install-criu.sh: trixie sources for building CRIU 4.x.
Types: deb-src
URIs: '"$MIRROR"'
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
'
    # Source-only, but pin anyway: should a deb line for trixie ever be added,
    # apt must still never pick a trixie binary over bookworm's.
    local pin='# Written by hoist scripts/install-criu.sh: never install binaries from trixie.
Package: *
Pin: release n=trixie
Pin-Priority: -1
'
    if [ ! -f "$PIN" ] || [ "$(cat "$PIN")" != "$(printf '%s' "$pin")" ]; then
        printf '%s' "$pin" >"$PIN"
    fi
    if [ ! -f "$SOURCES" ] || [ "$(cat "$SOURCES")" != "$(printf '%s' "$text")" ]; then
        printf '%s' "$text" >"$SOURCES"
        apt-get update
    fi
}

install_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "install-criu: installing: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
            { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
    fi
}

build_criu() {
    rm -rf "$BUILD_DIR"
    mkdir -p "$BUILD_DIR"
    cd "$BUILD_DIR"
    # apt-get source as root warns about sandboxing; the download is verified by apt.
    # apt checks each file against the hashes of trixie's signed Sources index. Some
    # mirrors and proxies serve the upstream tarball but not Debian's .dsc and
    # packaging: the upstream tarball alone builds the same binary.
    apt-get source --download-only criu/trixie || true
    if ls ./criu_*.dsc >/dev/null 2>&1 && dpkg-source --no-check -x ./criu_*.dsc src >/dev/null; then
        :
    elif ls ./criu_*.orig.tar.* >/dev/null 2>&1; then
        mkdir src
        tar -xf ./criu_*.orig.tar.* -C src --strip-components=1
    else
        die "could not download trixie's criu source package (see apt-get's errors above)"
    fi
    cd src
    local p
    for p in "${PATCHES[@]}"; do
        patch -p1 --forward <"$p"
    done
    # Only the criu binary (and its RPC/plugins): no docs (asciidoc) and no libcriu.
    make -j"$(nproc)" criu
    make install-criu PREFIX="$CRIU_PREFIX"
    mkdir -p "$(dirname "$BUILD_STAMP")"
    build_id >"$BUILD_STAMP"
    cd /
    rm -rf "$BUILD_DIR"
}

make_trixie_root() {
    if [ -x "$TRIXIE_ROOT/usr/bin/checkpointctl" ]; then
        return
    fi
    echo "install-criu: making the trixie root with checkpointctl in $TRIXIE_ROOT"
    rm -rf "$TRIXIE_ROOT.tmp"
    mkdir -p "$(dirname "$TRIXIE_ROOT")"
    debootstrap --variant=minbase --include=checkpointctl trixie "$TRIXIE_ROOT.tmp" "$MIRROR" >/dev/null
    rm -rf "$TRIXIE_ROOT"
    mv "$TRIXIE_ROOT.tmp" "$TRIXIE_ROOT"
}

build_id() {
    cat "${PATCHES[@]}" | sha256sum | cut -d' ' -f1
}

# A CRIU 4.x of someone else's is kept; ours is rebuilt when its patches changed.
up_to_date() {
    [ "$(criu_major)" -ge 4 ] || return 1
    [ "$(command -v criu)" = "$CRIU_PREFIX/sbin/criu" ] || return 0
    [ "$(cat "$BUILD_STAMP" 2>/dev/null)" = "$(build_id)" ]
}

if up_to_date; then
    echo "install-criu: $(criu --version | head -n1) already installed"
else
    add_trixie_sources
    install_packages "${BUILD_DEPS[@]}"
    build_criu
    hash -r
    [ "$(criu_major)" -ge 4 ] || die "criu in PATH is not 4.x after the build: check that $CRIU_PREFIX/sbin comes before /usr/sbin in PATH"
    echo "install-criu: installed $(criu --version | head -n1) in $CRIU_PREFIX"
fi

install_packages debootstrap
make_trixie_root
chroot "$TRIXIE_ROOT" checkpointctl help >/dev/null 2>&1 ||
    die "checkpointctl does not run in $TRIXIE_ROOT: remove that directory and run again"
echo "install-criu: ok (checkpointctl in $TRIXIE_ROOT)"
