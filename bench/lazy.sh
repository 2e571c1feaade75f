#!/usr/bin/env bash
# Lazy-pull benchmark: cold-cache time to ready and bytes fetched for a python3
# container over a 100 Mbit/s, 50 ms round-trip link, for a full pull then run,
# a lazy run of an eStargz image, and a lazy run of an eStargz image optimized
# for the workload. See bench/README.md. Run as root:
#
#   bench/lazy.sh [-n ROUNDS] [--modes "full lazy lazy-opt podman"]
#                 [--workloads "hello http"] [--no-build] [--keep]
#
# Modes: full (hoist pull then hoist run), lazy, lazy-opt (hoist run --pull-mode=lazy
# of the converted images), podman (podman pull then podman run; not by default).
# Environment: HOIST_BIN (default target/release/hoist), BENCH_TMPDIR (default
# /var/tmp), HOIST_LAZY_CACHE (image cache, default bench/results/cache),
# LINK_RATE (default 100mbit), LINK_DELAY_MS (one way, default 25),
# NEEDED_REF_S (the time to fetch just the needed files, default 1.74), PYTHON.
set -euo pipefail

ROUNDS=5
MODES="full lazy lazy-opt"
WORKLOADS="hello http"
BUILD=yes
KEEP=no
RATE=${LINK_RATE:-100mbit}
DELAY_MS=${LINK_DELAY_MS:-25}
NEEDED_REF_S=${NEEDED_REF_S:-1.74}
TRIAL_TIMEOUT=300
# The network between the host and the registry's namespace; refused if in use.
NET_PREFIX=${LINK_NET_PREFIX:-10.213.77}
HOST_IP=$NET_PREFIX.1
NS_IP=$NET_PREFIX.2
NS_PORT=5000

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${HOIST_LAZY_CACHE:-$REPO/bench/results/cache}
PROXY=$REPO/bench/lazy/delay-proxy.py

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}
die() {
    echo "bench/lazy.sh: error: $*" >&2
    exit 1
}
log() { echo "bench/lazy.sh: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    -n | --rounds) ROUNDS=${2:?"$1 needs a number"}; shift 2 ;;
    --modes) MODES=${2:?"$1 needs a list"}; shift 2 ;;
    --workloads) WORKLOADS=${2:?"$1 needs a list"}; shift 2 ;;
    --no-build) BUILD=no; shift ;;
    --keep) KEEP=yes; shift ;;
    -h | --help) usage 0 ;;
    *) echo "bench/lazy.sh: unknown argument: $1" >&2; usage 2 ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "rounds must be a positive number, not '$ROUNDS'"
for m in $MODES; do
    case "$m" in full | lazy | lazy-opt | podman) ;; *) die "unknown mode '$m' in --modes" ;; esac
done
for w in $WORKLOADS; do
    case "$w" in hello | http) ;; *) die "unknown workload '$w' in --workloads (hello, http)" ;; esac
done
[[ " $MODES " == *" full "* ]] || die "--modes must include full: every ratio is relative to it"
has_mode() { [[ " $MODES " == *" $1 "* ]]; }

[ "$(id -u)" -eq 0 ] || die "run as root (network namespace, tc, container stores)"
export PATH="$PATH:/usr/sbin:/sbin:${CARGO_HOME:-$HOME/.cargo}/bin"
PYTHON=${PYTHON:-python3}
for tool in ip tc curl jq skopeo gzip sha256sum "$PYTHON" /usr/bin/docker-registry; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found; run scripts/install-deps.sh"
done
if has_mode podman; then
    command -v podman >/dev/null || die "podman not found (drop podman from --modes)"
    [ -f /etc/containers/containers.conf.d/50-hoist-tests.conf ] ||
        log "warning: /etc/containers/containers.conf.d/50-hoist-tests.conf missing; podman run may fail (scripts/install-deps.sh)"
fi

if [ "$BUILD" = yes ] && [ -z "${HOIST_BIN:-}" ]; then
    log "building hoist and hoist-testenv (release)"
    (cd "$REPO" && cargo build --release -p hoist -p hoist-testenv) || die "cargo build --release failed"
fi
HOIST=${HOIST_BIN:-$REPO/target/release/hoist}
TESTENV=$REPO/target/release/hoist-testenv
[ -x "$TESTENV" ] || TESTENV=$REPO/target/debug/hoist-testenv
[ -x "$HOIST" ] || die "no hoist binary at $HOIST (drop --no-build, or set HOIST_BIN)"
[ -x "$TESTENV" ] || die "no hoist-testenv binary (cargo build --release -p hoist-testenv)"

# The lazy modes need `hoist image convert --estargz` and `--pull-mode`. Say so up front
# instead of measuring only part of what was asked for.
PULL_MODE_FLAG=no
if "$HOIST" run --help 2>/dev/null | grep -q -- '--pull-mode'; then PULL_MODE_FLAG=yes; fi
if has_mode lazy || has_mode lazy-opt; then
    missing=""
    "$HOIST" image convert --help >/dev/null 2>&1 || missing="\`hoist image convert\`"
    if [ $PULL_MODE_FLAG = no ]; then missing="${missing:+$missing and }\`hoist run --pull-mode\`"; fi
    if [ -n "$missing" ]; then
        die "$HOIST has no $missing, so the lazy modes cannot run.
  Build a hoist with lazy pulling, or measure the full pull alone: bench/lazy.sh --modes full"
    fi
fi

# --- work directory and cleanup ---------------------------------------------------
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/hoist-lazy-bench.XXXXXX")
# containers/storage refuses runroots over 50 characters: podman's go to /run.
RUNROOTS=$(mktemp -d /run/hlb.XXXXXX)
NS=hoist-lazy-$$
VETH_HOST=hlz$$h
VETH_NS=hlz$$n
PIDS=()
TRIAL_PID=""

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cleanup() {
    local status=$?
    set +e
    if [ -n "$TRIAL_PID" ]; then kill "$TRIAL_PID" 2>/dev/null; fi
    for root in "$WORK"/t/*/root; do
        [ -d "$root" ] && "$HOIST" --root "$root" rm -fa >/dev/null 2>&1
    done
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    "$TESTENV" registry-stop --dir "$WORK/registry" >/dev/null 2>&1
    unmount_below "$WORK"
    unmount_below "$RUNROOTS"
    # Deleting the namespace deletes its veth end, hence the pair and both qdiscs.
    ip netns del "$NS" 2>/dev/null
    ip link del "$VETH_HOST" 2>/dev/null
    if [ "$KEEP" = yes ]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    rm -rf "$RUNROOTS"
    [ $status -eq 0 ] || log "failed (exit $status); cleaned up"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts "$@" in the background with its output in file $1; its pid goes to PIDS.
start_bg() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 &
    PIDS+=($!)
}

# --- the image: debootstrap minbase + python3, one gzip layer ----------------------

# An OCI layout at $CACHE/py-oci, tag "plain": the tree `debootstrap --variant=minbase
# --include=python3 bookworm` leaves (apt's downloaded .debs and lists included: that
# is what the command gives), /dev, /proc and /sys emptied, tarred in name order.
LAYOUT=$CACHE/py-oci
build_image() {
    [ -e "$LAYOUT/.done" ] && return 0
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
    local mirror tree=$WORK/rootfs blobs=$LAYOUT/blobs/sha256
    mirror=$(apt_mirror)
    mirror=${mirror:-http://deb.debian.org/debian}
    mkdir -p "$CACHE"
    log "debootstrap --variant=minbase --include=python3 bookworm from $mirror (a few minutes, once)"
    debootstrap --variant=minbase --include=python3 bookworm "$tree" "$mirror" \
        >"$CACHE/debootstrap.log" 2>&1 || {
        tail -n 20 "$CACHE/debootstrap.log" >&2
        die "debootstrap failed (log: $CACHE/debootstrap.log)"
    }
    rm -rf "$LAYOUT"
    mkdir -p "$blobs"
    tar --sort=name --numeric-owner --xattrs --xattrs-include='*' \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -C "$tree" -cf "$WORK/layer.tar" .
    rm -rf "$tree"
    local diff_id layer layer_size config config_digest manifest manifest_digest
    diff_id=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
    gzip -n -6 -c "$WORK/layer.tar" >"$WORK/layer.tar.gz"
    layer=$(sha256sum "$WORK/layer.tar.gz" | cut -d' ' -f1)
    layer_size=$(stat -c %s "$WORK/layer.tar.gz")
    mv "$WORK/layer.tar.gz" "$blobs/$layer"
    rm -f "$WORK/layer.tar"
    config=$(jq -cn --arg d "sha256:$diff_id" '{
        architecture: "amd64", os: "linux",
        config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["bash"]},
        rootfs: {type: "layers", diff_ids: [$d]},
        history: [{created_by: "debootstrap --variant=minbase --include=python3 bookworm"}]}')
    printf '%s' "$config" >"$blobs/tmp"
    config_digest=$(sha256sum "$blobs/tmp" | cut -d' ' -f1)
    mv "$blobs/tmp" "$blobs/$config_digest"
    manifest=$(jq -cn --arg c "sha256:$config_digest" --argjson cs "${#config}" \
        --arg l "sha256:$layer" --argjson ls "$layer_size" '{
        schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
        layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]}')
    printf '%s' "$manifest" >"$blobs/tmp"
    manifest_digest=$(sha256sum "$blobs/tmp" | cut -d' ' -f1)
    mv "$blobs/tmp" "$blobs/$manifest_digest"
    jq -cn --arg m "sha256:$manifest_digest" --argjson ms "${#manifest}" '{
        schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: $m, size: $ms, annotations: {"org.opencontainers.image.ref.name": "plain"}}]}' \
        >"$LAYOUT/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
    touch "$LAYOUT/.done"
    log "image layout in $LAYOUT: layer $((layer_size / 1000000)) MB compressed"
}
build_image

# --- preparation against an unshaped registry on 127.0.0.1 ------------------------
hport=$(start_registry "$TESTENV" "$WORK/registry") || die "could not start the preparation registry"
HREG=127.0.0.1:$hport
STORAGE=$WORK/registry/storage
[ -d "$STORAGE" ] || die "the registry's storage is not at $STORAGE (hoist-testenv changed?)"

log "pushing the plain image to $HREG"
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:plain" "docker://$HREG/bench/py:plain" ||
    die "skopeo copy of the plain image failed"

# hello: prints and exits. http: a server; ready when it says "Serving HTTP".
# PYTHONUNBUFFERED=1 because stdout is a pipe, where python would hold the line back.
workload_cmd() {
    case "$1" in
    hello) CMD=(python3 -c 'print("hello")'); MARKER=hello ;;
    http) CMD=(python3 -m http.server); MARKER="Serving HTTP" ;;
    esac
}
# The workload as one string, for --optimize.
workload_string() {
    case "$1" in
    hello) echo "python3 -c 'print(\"hello\")'" ;;
    http) echo "python3 -m http.server" ;;
    esac
}

insecure_registries_conf "$WORK/prep-registries.conf" "$HREG"
PREP=(env CONTAINERS_REGISTRIES_CONF="$WORK/prep-registries.conf" "$HOIST" --root "$WORK/prep")
declare -A CONVERT_S
convert() {
    local dst=$1
    shift
    local t0=${EPOCHREALTIME/[.,]/}
    "${PREP[@]}" image convert --estargz "$@" "$HREG/bench/py:plain" "$HREG/bench/py:$dst" \
        >"$WORK/convert-$dst.log" 2>&1 || {
        tail -n 30 "$WORK/convert-$dst.log" >&2
        die "hoist image convert --estargz $* to bench/py:$dst failed (log above)"
    }
    CONVERT_S[$dst]=$(awk -v a="$t0" -v b="${EPOCHREALTIME/[.,]/}" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
    "${PREP[@]}" push --tls-verify=false "$HREG/bench/py:$dst" >"$WORK/push-$dst.log" 2>&1 || {
        tail -n 30 "$WORK/push-$dst.log" >&2
        die "hoist push of bench/py:$dst failed (log above)"
    }
    log "converted bench/py:$dst in ${CONVERT_S[$dst]} s and pushed it"
}
if has_mode lazy || has_mode lazy-opt; then
    "${PREP[@]}" pull --tls-verify=false "$HREG/bench/py:plain" >"$WORK/prep-pull.log" 2>&1 || {
        tail -n 30 "$WORK/prep-pull.log" >&2
        die "hoist pull of the plain image into the preparation store failed"
    }
    if has_mode lazy; then convert estargz; fi
    if has_mode lazy-opt; then
        for w in $WORKLOADS; do convert "estargz-$w" --optimize "$(workload_string "$w")"; done
    fi
fi

manifest_of() {
    curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$HREG/v2/bench/py/manifests/$1"
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
# "TAG: N layer(s), X MB compressed, eStargz TOC: yes|no".
describe_tag() {
    local m
    m=$(manifest_of "$1") || { echo "$1: manifest missing"; return; }
    printf '%s: %s layer(s), %s MB compressed, eStargz TOC annotation: %s\n' "$1" \
        "$(jq '.layers | length' <<<"$m")" "$(mb "$(jq '[.layers[].size] | add' <<<"$m")")" \
        "$(jq -r 'if all(.layers[]; .annotations["containerd.io/snapshot/stargz/toc.digest"] != null) then "yes" else "no" end' <<<"$m")"
}
PLAIN_BLOB=$(manifest_of plain | jq -r '.layers[0].digest')
PLAIN_SIZE=$(manifest_of plain | jq -r '.layers[0].size')
IMAGES=$(
    describe_tag plain
    if has_mode lazy; then describe_tag estargz; fi
    if has_mode lazy-opt; then for w in $WORKLOADS; do describe_tag "estargz-$w"; done; fi
)
if has_mode lazy || has_mode lazy-opt; then
    if grep -q 'TOC annotation: no' <<<"$(tail -n +2 <<<"$IMAGES")"; then
        log "warning: a converted image lacks the eStargz TOC annotation:"
        echo "$IMAGES" >&2
    fi
fi
"$TESTENV" registry-stop --dir "$WORK/registry" >/dev/null
rm -rf "$WORK/prep"

# --- the shaped link ---------------------------------------------------------------
if ip -o -4 addr show | grep -q " $NET_PREFIX\."; then
    die "$NET_PREFIX.0/30 is in use on this host; set LINK_NET_PREFIX to another /24 prefix"
fi
ip netns add "$NS"
ip link add "$VETH_HOST" type veth peer name "$VETH_NS"
ip link set "$VETH_NS" netns "$NS"
ip addr add "$HOST_IP/30" dev "$VETH_HOST"
ip link set "$VETH_HOST" up
ip -n "$NS" addr add "$NS_IP/30" dev "$VETH_NS"
ip -n "$NS" link set "$VETH_NS" up
ip -n "$NS" link set lo up
# The rate on the egress of both ends: requests one way, blobs the other. htb's default
# bucket at 100 Mbit/s is 1600 bytes, so every late timer (a VM with steal time) loses
# send credit and the link runs well below its rate; 5 ms of line rate absorbs that.
BURST=$(awk -v r="$RATE" 'BEGIN { n = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u)
    m = (u == "gbit") ? 1e9 : (u == "mbit") ? 1e6 : (u == "kbit") ? 1e3 : 1
    b = int(n * m / 8 * 0.005); print (b < 1600 ? 1600 : b) }')
shape_dev() {
    local ns=$1 dev=$2
    if [ -n "$ns" ]; then
        tc -n "$ns" qdisc add dev "$dev" root handle 1: htb default 10 r2q 100
        tc -n "$ns" class add dev "$dev" parent 1: classid 1:10 htb rate "$RATE" ceil "$RATE" \
            burst "$BURST" cburst "$BURST"
    else
        tc qdisc add dev "$dev" root handle 1: htb default 10 r2q 100
        tc class add dev "$dev" parent 1: classid 1:10 htb rate "$RATE" ceil "$RATE" \
            burst "$BURST" cburst "$BURST"
    fi
}
shape_dev "" "$VETH_HOST"
shape_dev "$NS" "$VETH_NS"

# The registry in the namespace serves the storage the preparation registry filled,
# with its access log on (one line per request: the request counts in the report).
cat >"$WORK/ns-registry.yml" <<EOF
version: 0.1
log:
  level: warn
  formatter: text
storage:
  filesystem:
    rootdirectory: $(jq -n --arg p "$STORAGE" '$p')
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $NS_IP:$NS_PORT
  secret: hoist-lazy-bench-not-secret
EOF
start_bg "$WORK/ns-registry.log" ip netns exec "$NS" /usr/bin/docker-registry serve "$WORK/ns-registry.yml"
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://$NS_IP:$NS_PORT/v2/" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "http://$NS_IP:$NS_PORT/v2/" ||
    { tail -n 20 "$WORK/ns-registry.log" >&2; die "the registry in namespace $NS did not answer"; }

PPORT=$("$TESTENV" free-port)
CPORT=$("$TESTENV" free-port)
[ "$PPORT" != "$CPORT" ] || CPORT=$("$TESTENV" free-port)
# With --keep, the proxy's log is a timeline of connections and requests, and
# trials.log gives each trial's start and ready times on the same clock.
TRACE=()
[ "$KEEP" = no ] || TRACE=(--trace)
start_bg "$WORK/proxy.log" "$PYTHON" "$PROXY" --listen "127.0.0.1:$PPORT" \
    --upstream "$NS_IP:$NS_PORT" --delay-ms "$DELAY_MS" --control "127.0.0.1:$CPORT" "${TRACE[@]}"
# "down BYTES up BYTES conns N open M" from the proxy's control port.
proxy_totals() {
    local line=""
    exec 5<>"/dev/tcp/127.0.0.1/$CPORT" && IFS= read -r line <&5
    exec 5<&-
    echo "$line"
}
for _ in $(seq 100); do
    [ -n "$(proxy_totals 2>/dev/null)" ] && break
    sleep 0.1
done
[ -n "$(proxy_totals 2>/dev/null)" ] || { cat "$WORK/proxy.log" >&2; die "the delay proxy did not start"; }
proxy_down() { proxy_totals | awk '{ print $2 }'; }
requests() { grep -cE '"(GET|HEAD|POST|PUT|PATCH) /v2/' "$WORK/ns-registry.log" || true; }
REG=127.0.0.1:$PPORT
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "NaN"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- link check: round trips and the plain layer's download through the proxy -----
log "link check: $RATE each way, +$DELAY_MS ms each way, registry at $NS_IP:$NS_PORT via $REG"
rtt_new=() rtt_reused=()
for _ in 1 2 3 4 5; do
    times=$(curl -fsS -o /dev/null -o /dev/null -w '%{time_total}\n' "http://$REG/v2/" "http://$REG/v2/")
    rtt_new+=("$(sed -n 1p <<<"$times")") rtt_reused+=("$(sed -n 2p <<<"$times")")
done
RTT_NEW_MS=$(printf '%s\n' "${rtt_new[@]}" | median | awk '{ printf "%.1f", $1 * 1000 }')
RTT_REUSED_MS=$(printf '%s\n' "${rtt_reused[@]}" | median | awk '{ printf "%.1f", $1 * 1000 }')
DIRECT_MS=$(curl -fsS -o /dev/null -w '%{time_total}' "http://$NS_IP:$NS_PORT/v2/" | awk '{ printf "%.1f", $1 * 1000 }')
blob_s=()
for _ in 1 2; do
    blob_s+=("$(curl -fsS -o /dev/null -w '%{time_total}' "http://$REG/v2/bench/py/blobs/$PLAIN_BLOB")")
done
BLOB_S=$(printf '%s\n' "${blob_s[@]}" | median | awk '{ printf "%.2f", $1 }')
BLOB_MBIT=$(awk -v b="$PLAIN_SIZE" -v s="$BLOB_S" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }')
LINK="round trip through the proxy: $RTT_NEW_MS ms for a request on a new connection (handshake + request),
             $RTT_REUSED_MS ms on a reused one (direct to the registry, unshaped delay: $DIRECT_MS ms)
             plain layer blob ($(mb "$PLAIN_SIZE") MB) with curl: ${blob_s[*]} s, median $BLOB_S s = $BLOB_MBIT Mbit/s"
log "$LINK"

# --- trials --------------------------------------------------------------------------
CAN_DROP=no
if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then CAN_DROP=yes; fi
[ $CAN_DROP = yes ] || log "cannot drop the page cache here; runs are cold-store but warm-cache"
drop_caches() {
    sync
    if [ $CAN_DROP = yes ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}
insecure_registries_conf "$WORK/registries.conf" "$REG"
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
PULL_MODE_FULL=()
[ $PULL_MODE_FLAG = no ] || PULL_MODE_FULL=(--pull-mode=full)

image_for() {
    case "$1" in
    full | podman) echo "$REG/bench/py:plain" ;;
    lazy) echo "$REG/bench/py:estargz" ;;
    lazy-opt) echo "$REG/bench/py:estargz-$2" ;;
    esac
}

# What run_case prints between pull and run, for the split of the full modes' time.
PULLED="hoist-lazy-bench: pulled"
# The measured command of one trial: from nothing in the store to the workload's output.
run_case() {
    local mode=$1 img=$2 dir=$3 name=$4 runroot=$5
    local H=("$HOIST" --root "$dir/root")
    local P=(podman --root "$dir/root" --runroot "$runroot" --storage-driver overlay)
    local R=(run --rm --network none --name "$name" -e PYTHONUNBUFFERED=1)
    case "$mode" in
    full)
        "${H[@]}" pull --tls-verify=false "${PULL_MODE_FULL[@]}" "$img" || return
        echo "$PULLED"
        exec "${H[@]}" "${R[@]}" "${PULL_MODE_FULL[@]}" "$img" "${CMD[@]}"
        ;;
    lazy | lazy-opt)
        exec "${H[@]}" "${R[@]}" --tls-verify=false --pull-mode=lazy "$img" "${CMD[@]}"
        ;;
    podman)
        "${P[@]}" pull --tls-verify=false "$img" || return
        echo "$PULLED"
        exec "${P[@]}" "${R[@]}" --runtime runc "$img" "${CMD[@]}"
        ;;
    esac
}
stop_case() {
    local mode=$1 dir=$2 name=$3 runroot=$4
    if [ "$mode" = podman ]; then
        podman --root "$dir/root" --runroot "$runroot" --storage-driver overlay kill "$name"
    else
        "$HOIST" --root "$dir/root" kill "$name"
    fi
}
remove_case() {
    local mode=$1 dir=$2 runroot=$3
    if [ "$mode" = podman ]; then
        podman --root "$dir/root" --runroot "$runroot" --storage-driver overlay rm -fa
    else
        "$HOIST" --root "$dir/root" rm -fa
    fi
}

describe_mode() {
    case "$1" in
    full) echo "full pull, then run" ;;
    lazy) echo "lazy, eStargz" ;;
    lazy-opt) echo "lazy, eStargz optimized" ;;
    podman) echo "podman pull, then run" ;;
    esac
}

mkdir -p "$WORK/t" "$WORK/res"
# Microseconds since the epoch (from EPOCHREALTIME) as seconds with 3 decimals.
epoch_s() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }
# trial MODE WORKLOAD ROUND: one cold run; appends "ms bytes_ready bytes_total requests
# pull_ms" to $WORK/res/MODE-WORKLOAD (pull_ms: until the pull ended, full modes only).
trial() {
    local mode=$1 w=$2 round=$3
    local dir=$WORK/t/$mode-$w-$round name=hlb-$mode-$w-$round runroot=$RUNROOTS/$mode-$w-$round
    local img line t0 t1="" tp="" pid status down0 down1 down2 req0 req1
    img=$(image_for "$mode" "$w")
    workload_cmd "$w"
    mkdir -p "$dir" "$runroot"
    mkfifo "$dir/out"
    drop_caches
    down0=$(proxy_down)
    req0=$(requests)
    t0=${EPOCHREALTIME/[.,]/}
    run_case "$mode" "$img" "$dir" "$name" "$runroot" >"$dir/out" 2>&1 &
    pid=$!
    TRIAL_PID=$pid
    exec 4<"$dir/out"
    # Lines as they come, so the time is taken when the marker arrives, not on a poll.
    while IFS= read -r -t "$TRIAL_TIMEOUT" line <&4; do
        printf '%s\n' "$line" >>"$dir/log"
        if [ "$line" = "$PULLED" ]; then
            tp=${EPOCHREALTIME/[.,]/}
        # The marker starts the workload's line; anywhere in it would match the
        # pull's "Trying to pull ...estargz-hello" line.
        elif [[ "$line" == "$MARKER"* ]]; then
            t1=${EPOCHREALTIME/[.,]/}
            break
        fi
    done
    down1=$(proxy_down)
    if [ -z "$t1" ]; then
        kill "$pid" 2>/dev/null || true
        stop_case "$mode" "$dir" "$name" "$runroot" >/dev/null 2>&1 || true
        wait "$pid" 2>/dev/null || true
        exec 4<&-
        tail -n 30 "$dir/log" >&2 || true
        die "$(describe_mode "$mode"), $w, round $round: no \"$MARKER\" within ${TRIAL_TIMEOUT} s or the run ended first (output above)"
    fi
    if [ "$w" = http ]; then
        stop_case "$mode" "$dir" "$name" "$runroot" >>"$dir/log" 2>&1 || true
    fi
    status=0
    wait "$pid" || status=$?
    # What is left of the output, without waiting for an EOF that a background helper
    # holding the pipe open would delay.
    while IFS= read -r -t 0.2 line <&4; do printf '%s\n' "$line" >>"$dir/log"; done
    exec 4<&-
    TRIAL_PID=""
    if [ "$w" = hello ] && [ $status -ne 0 ]; then
        tail -n 30 "$dir/log" >&2
        die "$(describe_mode "$mode"), $w, round $round: exit status $status (output above)"
    fi
    remove_case "$mode" "$dir" "$runroot" >/dev/null 2>&1 || true
    unmount_below "$dir"
    unmount_below "$runroot"
    down2=$(proxy_down)
    req1=$(requests)
    local ms=$(((t1 - t0) / 1000)) pull_ms=-
    [ -z "$tp" ] || pull_ms=$(((tp - t0) / 1000))
    echo "$ms $((down1 - down0)) $((down2 - down0)) $((req1 - req0)) $pull_ms" >>"$WORK/res/$mode-$w"
    if [ "$KEEP" = yes ]; then
        echo "$(epoch_s "$t0") start $mode $w $round" >>"$WORK/trials.log"
        echo "$(epoch_s "$t1") ready $mode $w $round" >>"$WORK/trials.log"
    fi
    log "round $round/$ROUNDS: $w, $(describe_mode "$mode"): $(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }') s" \
        "(pull $(awk -v m="$pull_ms" 'BEGIN { if (m == "-") print "-"; else printf "%.2f s", m / 1000 }'))," \
        "$(mb $((down1 - down0))) MB at ready, $(mb $((down2 - down0))) MB in all, $((req1 - req0)) requests"
    if [ "$KEEP" = yes ]; then cp "$dir/log" "$WORK/res/$mode-$w-$round.log"; fi
    rm -rf "$dir" "$runroot"
}

for round in $(seq 1 "$ROUNDS"); do
    for w in $WORKLOADS; do
        for mode in $MODES; do trial "$mode" "$w" "$round"; done
    done
done

# --- report ----------------------------------------------------------------------------
col() { awk -v c="$1" '{ print $c }' "$2"; }
secs() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }
tables=""
goals=""
for w in $WORKLOADS; do
    full_ms=$(col 1 "$WORK/res/full-$w" | median)
    t=$(printf '%-26s %9s %7s %7s %8s %7s %10s %10s %9s\n' "mode" "median s" "min s" "max s" \
        "x faster" "pull s" "MB @ready" "MB total" "requests"
        for mode in $MODES; do
            f=$WORK/res/$mode-$w
            med=$(col 1 "$f" | median)
            pull=-
            if [ "$(col 5 "$f" | head -n1)" != - ]; then pull=$(secs "$(col 5 "$f" | median)"); fi
            printf '%-26s %9s %7s %7s %8s %7s %10s %10s %9s\n' "$(describe_mode "$mode")" "$(secs "$med")" \
                "$(secs "$(col 1 "$f" | sort -n | head -n1)")" "$(secs "$(col 1 "$f" | sort -n | tail -n1)")" \
                "$(awk -v a="$full_ms" -v b="$med" 'BEGIN { printf "%.1fx", a / b }')" "$pull" \
                "$(mb "$(col 2 "$f" | median)")" "$(mb "$(col 3 "$f" | median)")" "$(col 4 "$f" | median)"
        done)
    workload_cmd "$w"
    tables+="workload $w: $(workload_string "$w") until \"$MARKER\"
$t

"
    if has_mode lazy-opt; then
        opt_ms=$(col 1 "$WORK/res/lazy-opt-$w" | median)
        goals+=$(awk -v f="$full_ms" -v o="$opt_ms" -v r="$NEEDED_REF_S" -v w="$w" 'BEGIN {
            s = f / o; lim = 1.5 * r
            printf "%s: lazy optimized is %.1fx faster than the full pull (goal >= 10x): %s\n", w, s, (s >= 10 ? "met" : "NOT met")
            printf "%s: lazy optimized %.2f s against 1.5 x %.2f s = %.2f s: %s\n", w, o / 1000, r, lim, (o / 1000 <= lim ? "met" : "NOT met") }')
        goals+=$'\n'
    fi
done
raw=$(for f in "$WORK"/res/*; do
    [ -f "$f" ] || continue
    case "$f" in *.log) continue ;; esac
    printf '%-16s ms:%s  MB@ready:%s\n' "$(basename "$f")" "$(col 1 "$f" | tr '\n' ' ')" \
        "$(col 2 "$f" | while read -r b; do printf ' %s' "$(mb "$b")"; done)"
done)
conversions=""
for k in "${!CONVERT_S[@]}"; do conversions+="${conversions:+, }bench/py:$k ${CONVERT_S[$k]} s"; done
revision=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "unknown")

report="hoist lazy-pull benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')
host:        $(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)
versions:    $("$HOIST" --version 2>/dev/null | head -n 1) (rev $revision)$({ has_mode podman && echo "; $(podman --version)"; } || true)
link:        registry in netns, htb $RATE (burst $BURST bytes) on both veth ends, +$DELAY_MS ms each way (bench/lazy/delay-proxy.py)
             $LINK
images:      $(sed '2,$s/^/             /' <<<"$IMAGES")
conversions: ${conversions:-none}
runs:        $ROUNDS rounds, interleaved; each run: fresh --root, page cache dropped: $CAN_DROP
             time: from the start of the first command to the workload's marker line on stdout
             MB @ready: bytes the proxy passed registry -> client until then; MB total: until
             the container was removed and its mounts gone; requests: registry access log lines
             (x faster = full median / mode median; pull s: median time until the pull
             command ended, for the modes that pull before they run)

${tables}${goals:+goals (needed files alone: $NEEDED_REF_S s on this link):
$goals
}raw:
$raw
"
echo
echo "$report"
mkdir -p "$REPO/bench/results"
out="$REPO/bench/results/lazy-$(date -u +%Y%m%d-%H%M%S).txt"
printf '%s' "$report" >"$out"
log "results written to $out"
