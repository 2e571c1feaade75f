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
