#!/usr/bin/env bash
# The MCP proxy benchmark: what a `tools/call` round trip costs through Lampart against a
# direct connection to the same server, over stdio and over Streamable HTTP.
#
# Builds the release binaries and the plugins, then runs `lampart-mcp-load`, which measures
# sequential `echo` calls from the official Rust SDK's client, one connection per setup:
#   1. stdio direct: client → lampart-mcp-peer
#   2. stdio proxied: client → lampart mcp → lampart-mcp-peer (audit on, then off)
#   3. HTTP direct: client → lampart-mcp-peer --http
#   4. HTTP proxied: client → lampart serve /mcp/peer → lampart-mcp-peer --http (audit on, then off)
# and prints a markdown table: p50, p90, p99, max, calls/s, and each proxied setup's p50 and
# p99 over the direct setup of its transport. The chain is one warm tool-rules step; "audit
# on" is the durable log as shipped (every decision fsynced, two per call: request and
# response), "audit off" is `--no-audit`.
#
# Client, proxy and server share the machine's cores: run it on a quiet machine. The work
# directory (configs, audit logs) is made under target/, on the project's disk, not tmpfs, so
# the audit log's fsyncs are real.
#
# Environment (all optional):
#   CALLS=5000 WARMUP=200   timed calls per setup, and untimed calls before them
#   AUDIT=both              on, off or both: the audit settings of the proxied setups
#   SKIP_BUILD=1            use the binaries and plugins already built
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

CALLS=${CALLS:-5000}
WARMUP=${WARMUP:-200}
AUDIT=${AUDIT:-both}

if [[ -z "${SKIP_BUILD:-}" ]]; then
    cargo xtask plugins
    cargo build --release -p lampart -p lampart-mcp-peer -p lampart-bench --bin lampart-mcp-load
fi

lampart="$root/target/release/lampart"
peer="$root/target/release/lampart-mcp-peer"
load="$root/target/release/lampart-mcp-load"
plugin="$root/dist/plugins/tool_rules.wasm"
for file in "$lampart" "$peer" "$load" "$plugin"; do
    [[ -e "$file" ]] || { echo "mcp.sh: $file is missing; build without SKIP_BUILD" >&2; exit 2; }
done

"$load" --lampart "$lampart" --peer "$peer" --plugin "$plugin" \
    --calls "$CALLS" --warmup "$WARMUP" --audit "$AUDIT"
