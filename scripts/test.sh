#!/usr/bin/env bash
# Runs hoist's whole test suite on a fresh Debian machine, as root:
# installs what the tests need, checks formatting and lints, then runs every
# unit and integration test (the integration tests start their own registries
# on 127.0.0.1 and stop them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast -- --test-threads="${HOIST_TEST_THREADS:-4}"
