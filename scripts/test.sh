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

# The fuzz targets (fuzz/ is its own workspace, built with cargo-fuzz on
# nightly) build in the background at the lowest CPU and I/O priority
# while the lints and tests run: those leave a core idle much of the time
# (a crate at a time, linking, waiting on containers), and the fuzz build
# takes that time instead of adding five minutes of its own. It runs in a
# session of its own (so that one kill stops all of it), which the kernel's
# autogroup scheduling gives an equal share of the CPU whatever its
# processes' nice value: the autogroup's own nice is what lowers it.
fuzz_log=$(mktemp)
setsid bash -c '(echo 19 >/proc/self/autogroup) 2>/dev/null
    cd fuzz && exec nice -n 19 ionice -c 3 cargo +nightly fuzz build' \
    >"$fuzz_log" 2>&1 </dev/null &
fuzz_build=$!
trap 'kill -- -"$fuzz_build" 2>/dev/null || true; rm -f "$fuzz_log"' EXIT

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

echo "== cargo fuzz build (started before the lints)"
if ! wait "$fuzz_build"; then
    cat "$fuzz_log"
    echo "test.sh: building the fuzz targets failed" >&2
    exit 1
fi
tail -n 1 "$fuzz_log"

# Every fuzz target for a short fixed time, one per core at a time. A crash
# fails the run; libFuzzer leaves the input in fuzz/artifacts/TARGET/ for a
# regression test. A target with seeds (fuzz/seeds/TARGET, written by
# `cargo run -p hoist-lazy --example fuzz_seeds`) starts from them as well:
# from nothing, ten seconds never get past an eStargz blob's gzip framing.
echo "== cargo fuzz (${HOIST_FUZZ_SECONDS:=10} s per target)"
fuzz_one() {
    local target=$1 log seeds=()
    log=$(mktemp)
    mkdir -p "corpus/$target"
    [ ! -d "seeds/$target" ] || seeds=("seeds/$target")
    if cargo +nightly fuzz run "$target" "corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$HOIST_FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=0 \
        >"$log" 2>&1; then
        echo "-- fuzz $target: ok"
        rm -f "$log"
    else
        echo "-- fuzz $target: FAILED"
        cat "$log"
        rm -f "$log"
        return 1
    fi
}
export -f fuzz_one
export HOIST_FUZZ_SECONDS
(
    cd fuzz
    cargo +nightly fuzz list | xargs -P "$(nproc)" -I{} bash -c 'fuzz_one "$1"' _ {}
)
