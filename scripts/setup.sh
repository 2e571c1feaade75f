#!/usr/bin/env bash
# One command on a fresh Debian bookworm machine, as root: installs what hoist
# needs, builds and installs hoist, starts a local registry on 127.0.0.1 with a
# test image built from busybox-static, and runs the main job end to end:
# image transfer and management, then real containers (one with a published port).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== building hoist (release)"
cargo build --release --locked -p hoist -p hoist-testenv
install -m 0755 target/release/hoist /usr/local/bin/hoist
hoist completion bash > /usr/share/bash-completion/completions/hoist 2>/dev/null || true
mkdir -p /usr/local/share/man/man1 && hoist generate-man /usr/local/share/man/man1

demo=$(mktemp -d /var/tmp/hoist-demo.XXXXXX)
port=${HOIST_DEMO_PORT:-5055}
registry="127.0.0.1:$port"
cleanup() {
    target/release/hoist-testenv registry-stop --dir "$demo/registry" >/dev/null 2>&1 || true
    rm -rf "$demo"
}
trap cleanup EXIT

echo "== starting a registry on $registry and pushing a test image"
target/release/hoist-testenv registry --port "$port" --dir "$demo/registry"
target/release/hoist-testenv push-image --registry "$registry" --layers 3 demo/busybox:latest

export CONTAINERS_REGISTRIES_CONF="$demo/registries.conf"
printf 'unqualified-search-registries = ["%s"]\n[[registry]]\nlocation = "%s"\ninsecure = true\n' \
    "$registry" "$registry" > "$CONTAINERS_REGISTRIES_CONF"
root="$demo/store"

set -x
hoist --root "$root" pull demo/busybox:latest
hoist --root "$root" images
hoist --root "$root" image inspect --format '{{.Os}}/{{.Architecture}} {{.Digest}}' demo/busybox
hoist --root "$root" tag demo/busybox "$registry/demo/copy:1"
hoist --root "$root" push "$registry/demo/copy:1"
hoist --root "$root" save --format oci-archive -o "$demo/busybox.tar" demo/busybox
hoist --root "$root" rmi -a
hoist --root "$root" load -i "$demo/busybox.tar"
hoist --root "$root" system check
hoist --root "$root" run --rm --network none demo/busybox echo "hello from a hoist container"
hoist --root "$root" run -d --name web -p 127.0.0.1:18080:8080 demo/busybox httpd -f -p 8080 -h /etc
sleep 1
curl -fsS http://127.0.0.1:18080/hostname
hoist --root "$root" ps
hoist --root "$root" rm -f web
set +x
echo "== hoist works: pulled, pushed, saved, loaded, checked and ran an image"
