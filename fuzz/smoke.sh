#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short while; exits non-zero on a finding.
#
#   fuzz/smoke.sh [SECONDS]     # default 20 seconds per target
#
# Environment:
#   LAMPART_FUZZ_SANITIZER   address (default) or none
#   LAMPART_FUZZ_PROFILE     release (default) or dev: unoptimised, builds in half the time
#   LAMPART_FUZZ_TARGETS     space-separated targets to run (default: all)
#
# Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets it accept the unstable flags
# cargo-fuzz passes. New inputs go to a temporary corpus, so the committed seeds in
# fuzz/corpus/ stay as they are; a crashing input is kept in fuzz/artifacts/<target>/.
set -euo pipefail

seconds="${1:-20}"
sanitizer="${LAMPART_FUZZ_SANITIZER:-address}"
profile=()
if [[ "${LAMPART_FUZZ_PROFILE:-release}" == dev ]]; then
    profile=(--dev)
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
targets="${LAMPART_FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir fuzz)}"

echo "smoke: building all targets (sanitizer: $sanitizer)" >&2
cargo fuzz build --fuzz-dir fuzz -s "$sanitizer" "${profile[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in $targets; do
    echo "smoke: $target for ${seconds}s" >&2
    mkdir -p "$work/$target"
    if ! cargo fuzz run --fuzz-dir fuzz -s "$sanitizer" "${profile[@]}" "$target" \
        "$work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "smoke: findings in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "smoke: no findings" >&2
