# shellcheck shell=bash
# Shell functions the benchmark scripts share; sourced, not run.

# Detaches every mount at or below $1, deepest first (podman's and skopeo's
# overlay storage, and lazy-layer FUSE mounts, can be left behind).
unmount_below() {
    local dir=$1 m
    awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r m; do
        umount --lazy "$m" 2>/dev/null || true
    done
}

# Writes a registries.conf ($1) marking registry $2 (host:port) insecure.
insecure_registries_conf() {
    printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$2" >"$1"
}

# Starts hoist-testenv's registry ($1: the hoist-testenv binary) with its
# storage in $2 on a free port, retrying when another process takes the port
# between free-port and the registry's bind; prints the port.
start_registry() {
    local testenv=$1 dir=$2 attempt candidate
    for attempt in 1 2 3; do
        candidate=$("$testenv" free-port)
        if "$testenv" registry --port "$candidate" --dir "$dir" >/dev/null 2>"$dir.start.err"; then
            echo "$candidate"
            return 0
        fi
        echo "registry start attempt $attempt failed: $(tail -n 3 "$dir.start.err")" >&2
    done
    return 1
}

# busybox_image TESTENV WORK: a registry with its storage under WORK (stop
# it with `TESTENV registry-stop --dir WORK/registry`) holding the busybox
# test image, and WORK/registries.conf naming it insecure; prints the
# image's reference. The caller exports CONTAINERS_REGISTRIES_CONF itself.
busybox_image() {
    local testenv=$1 work=$2 port
    mkdir -p "$work/registry"
    port=$(start_registry "$testenv" "$work/registry")
    "$testenv" push-image --registry "127.0.0.1:$port" bench/busybox:1 >/dev/null
    insecure_registries_conf "$work/registries.conf" "127.0.0.1:$port"
    echo "127.0.0.1:$port/bench/busybox:1"
}

# bench_teardown HOIST TESTENV WORK: the end of a script that used
# busybox_image: the containers of HOIST's store WORK/root removed, the
# registry stopped, what is mounted under WORK unmounted and WORK deleted.
bench_teardown() {
    "$1" --root "$3/root" rm -fa >/dev/null 2>&1 || true
    "$2" registry-stop --dir "$3/registry" >/dev/null 2>&1 || true
    unmount_below "$3"
    rm -rf "$3"
}

# time_us CMD...: runs CMD (output discarded) and prints its wall time in µs,
# or FAILED when it fails (EPOCHREALTIME: no fork to read the clock).
time_us() {
    local t0 t1
    t0=${EPOCHREALTIME/[.,]/}
    "$@" >/dev/null 2>&1 || { echo FAILED; return; }
    t1=${EPOCHREALTIME/[.,]/}
    echo $((t1 - t0))
}

# median_ms µs...: the median of its arguments (µs), in ms with one decimal;
# NaN when there are none or one of them is FAILED.
median_ms() {
    case " $* " in *" FAILED "*) echo NaN; return ;; esac
    printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR == 0) {print "NaN"; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
}

# ratio A B: A/B as "0.42x", or "-" when either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b == "NaN" || a == "NaN" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

# The Debian archive apt on this machine is configured with (for debootstrap).
apt_mirror() {
    local m
    m=$({ grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | sed 's/^URIs:[[:space:]]*//' | tr ' ' '\n'
          grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
        } | grep -v -- '-security' | grep '/debian/\?$' | head -n1 || true)
    echo "${m:-http://deb.debian.org/debian}"
}
