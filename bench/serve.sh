#!/usr/bin/env bash
# The service benchmark: `lampart serve` under closed-loop HTTP load from `lampart-load`.
#
# Builds the release binaries and the plugins, writes a config (one warm tool-rules step with
# the benchmark policy of bench/src/requests.rs, one API key), and measures:
#   1. durable audit log (fsync), server threads = 2
#   2. durable audit log, server threads = 1
#   3. audit log off (--no-audit), threads = 2
#   4. audit log off, threads = 1
#   5. the same decisions through `lampart check --workers 2` (no HTTP), audit on and off
# then prints a markdown table, with the targets met or missed.
#
# The generator runs as a separate process on the same machine, over loopback, on one
# runtime thread by default: on a 2-core machine it shares the cores with the server, so the
# numbers are the service's together with its client, and indicative only.
#
# Environment (all optional):
#   CONNECTIONS=64 DURATION=10s WARMUP=2s   the load
#   LOAD_THREADS=1                          the generator's runtime threads
#   CHECK_LINES=100000                      requests in the `lampart check` file
#   SESSIONS=1                              0: bodies without a session (no session state)
#   SKIP_BUILD=1                            use the binaries and plugins already built
#   KEEP=1                                  keep the work directory (configs, logs, results)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
LOAD_THREADS=${LOAD_THREADS:-1}
CHECK_LINES=${CHECK_LINES:-100000}
SESSIONS=${SESSIONS:-1}

# Targets: decisions per second, and the p99 bound with the durable log (microseconds).
TARGET_DURABLE_RPS=10000
TARGET_DURABLE_P99_US=5000
TARGET_NO_AUDIT_RPS=20000

if [[ -z "${SKIP_BUILD:-}" ]]; then
    cargo build --release -p lampart -p lampart-bench
    cargo xtask plugins
fi

lampart="$root/target/release/lampart"
load="$root/target/release/lampart-load"
for binary in "$lampart" "$load"; do
    [[ -x "$binary" ]] || { echo "serve.sh: $binary is missing; build without SKIP_BUILD" >&2; exit 2; }
done

# On the project's disk, not tmpfs: the durable audit log fsyncs for real.
mkdir -p "$root/target"
work=$(mktemp -d "$root/target/serve-bench.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "${KEEP:-}" ]]; then
        echo "serve.sh: work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# The requests: the 11 benchmark requests, as service bodies and as `lampart check` lines.
if [[ "$SESSIONS" == 0 ]]; then
    "$load" --print serve-bodies-sessionless > "$work/bodies.jsonl"
else
    "$load" --print serve-bodies > "$work/bodies.jsonl"
fi
"$load" --print check-lines --lines "$CHECK_LINES" > "$work/check.jsonl"

# One API key for the agent the check lines name.
"$lampart" keys new --agent bench-agent --role finance --id bench > "$work/key.txt"
key=$(head -n 1 "$work/key.txt")
[[ -n "$key" ]] || { echo "serve.sh: \`lampart keys new\` printed no key" >&2; exit 2; }

# config THREADS: the chain, [server], [state], [audit] and the key's [[auth.key]] entry.
config() {
    local file="$work/serve-$1.toml"
    {
        "$load" --print chain-config
        printf '\n[server]\nthreads = %s\n\n[state]\ndir = "state"\n\n[audit]\ndir = "audit"\n\n' "$1"
        tail -n +2 "$work/key.txt"
    } > "$file"
    echo "$file"
}

# field NAME < json: the first numeric value of "NAME" (the top-level one in a report).
field() {
    grep -o "\"$1\":[0-9.]*" | head -n 1 | cut -d: -f2
}

# serve NAME THREADS AUDIT(on|off): one server, one load run; appends a row to rows.tsv.
serve() {
    local name=$1 threads=$2 audit=$3
    local config out="$work/$name"
    config=$(config "$threads")
    mkdir -p "$out"
    local audit_args=(--audit-dir "$out/audit")
    [[ "$audit" == off ]] && audit_args=(--no-audit)
    # Made here, so it is there to read before the server has started.
    : > "$out/server.out"
    "$lampart" serve --config "$config" --listen 127.0.0.1:0 "${audit_args[@]}" \
        > "$out/server.out" 2> "$out/server.err" &
    server_pid=$!
    local url="" waited=0
    while [[ -z "$url" ]]; do
        url=$(sed -n 's/.*"listening":"\([^"]*\)".*/\1/p' "$out/server.out" | head -n 1)
        if [[ -z "$url" ]]; then
            if ! kill -0 "$server_pid" 2>/dev/null || (( waited >= 600 )); then
                echo "serve.sh: $name: the server did not start; its log:" >&2
                cat "$out/server.err" >&2
                exit 1
            fi
            sleep 0.1
            waited=$((waited + 1))
        fi
    done
    echo "== $name: $url (server threads $threads, audit $audit)" >&2
    local rc=0
    "$load" --url "$url/v1/decide" --header "authorization: Bearer $key" \
        --body-file "$work/bodies.jsonl" --content-type application/json \
        --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" \
        --threads "$LOAD_THREADS" --expect-status 200 > "$out/load.json" || rc=$?
    kill -TERM "$server_pid"
    local server_rc=0
    wait "$server_pid" || server_rc=$?
    server_pid=""
    if (( server_rc != 0 )); then
        echo "serve.sh: $name: the server exited $server_rc after SIGTERM; its log:" >&2
        tail -n 20 "$out/server.err" >&2
        exit 1
    fi
    if [[ "$audit" == on ]]; then
        "$lampart" audit verify --dir "$out/audit" > "$out/verify.txt" 2>&1 \
            || echo "serve.sh: $name: the audit log does not verify (see $out/verify.txt)" >&2
    fi
    local report rps p50 p99 p999 requests ok errors
    report=$(cat "$out/load.json")
    rps=$(field rps <<< "$report")
    p50=$(field p50_us <<< "$report")
    p99=$(field p99_us <<< "$report")
    p999=$(field p999_us <<< "$report")
    requests=$(field requests <<< "$report")
    ok=$(field 200 <<< "$report")
    errors=$(field errors <<< "$report")
    local failed=$(( requests - ${ok:-0} + errors ))
    local verdict
    if [[ "$audit" == on ]]; then
        verdict=$(awk -v r="$rps" -v p="$p99" -v tr="$TARGET_DURABLE_RPS" -v tp="$TARGET_DURABLE_P99_US" \
            'BEGIN { print ((r >= tr && p <= tp) ? "met" : "missed") " (≥ " tr "/s, p99 ≤ " tp / 1000 " ms)" }')
    else
        verdict=$(awk -v r="$rps" -v tr="$TARGET_NO_AUDIT_RPS" \
            'BEGIN { print ((r >= tr) ? "met" : "missed") " (≥ " tr "/s)" }')
    fi
    (( rc == 0 )) || verdict="$verdict; lampart-load exited $rc"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$threads" "$audit" "$rps" \
        "$(awk -v u="$p50" 'BEGIN { printf "%.2f", u / 1000 }')" \
        "$(awk -v u="$p99" 'BEGIN { printf "%.2f", u / 1000 }')" \
        "$(awk -v u="$p999" 'BEGIN { printf "%.2f", u / 1000 }')" \
        "$failed" "$verdict" >> "$work/rows.tsv"
}

# check AUDIT(on|off): `lampart check --workers 2` over the check file, decisions/s from wall time.
check() {
    local audit=$1 config out="$work/check-$1"
    config=$(config 2)
    mkdir -p "$out"
    local audit_args=(--audit-dir "$out/audit")
    [[ "$audit" == off ]] && audit_args=(--no-audit)
    echo "== lampart check --workers 2, audit $audit, $CHECK_LINES requests" >&2
    local started ended rc=0
    started=$(date +%s.%N)
    "$lampart" check --config "$config" --workers 2 "${audit_args[@]}" "$work/check.jsonl" \
        > /dev/null 2> "$out/check.err" || rc=$?
    ended=$(date +%s.%N)
    # 1: some requests were denied, as the benchmark intends.
    if (( rc != 0 && rc != 1 )); then
        echo "serve.sh: lampart check exited $rc:" >&2
        tail -n 5 "$out/check.err" >&2
        exit 1
    fi
    local rate
    rate=$(awk -v n="$CHECK_LINES" -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", n / (b - a) }')
    # Empty fields would merge in `read`: "-" stands for "not measured".
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "lampart check --workers 2 (no HTTP)" "2 workers" "$audit" \
        "$rate" - - - - - >> "$work/rows.tsv"
}

: > "$work/rows.tsv"
serve "durable audit, 2 threads" 2 on
serve "durable audit, 1 thread" 1 on
serve "audit off, 2 threads" 2 off
serve "audit off, 1 thread" 1 off
check on
check off

sessions="each request in a session (session state read and written per decision)"
[[ "$SESSIONS" == 0 ]] && sessions="no sessions"
echo
echo "lampart serve, $CONNECTIONS connections, $DURATION after $WARMUP warm-up, $sessions; generator on $LOAD_THREADS thread(s), $(nproc) cores shared with the server"
echo
echo "| configuration | server threads | audit | decisions/s | p50 ms | p99 ms | p99.9 ms | non-200 or failed | target |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
while IFS=$'\t' read -r name threads audit rps p50 p99 p999 failed verdict; do
    rate=$(awk -v r="$rps" 'BEGIN { printf "%.0f", r }')
    echo "| $name | $threads | $audit | $rate | $p50 | $p99 | $p999 | $failed | $verdict |"
done < "$work/rows.tsv"

# The cost of HTTP over `lampart check`: the service with 2 threads against check with 2 workers.
rate_of() {
    awk -F '\t' -v name="$1" -v audit="$2" '$1 == name && $3 == audit { print $4 }' "$work/rows.tsv"
}
echo
for audit in on off; do
    served=$(rate_of "$( [[ $audit == on ]] && echo "durable audit, 2 threads" || echo "audit off, 2 threads")" "$audit")
    checked=$(rate_of "lampart check --workers 2 (no HTTP)" "$audit")
    awk -v s="$served" -v c="$checked" -v a="$audit" \
        'BEGIN { printf "audit %s: the service (2 threads) decides %.0f%% as many requests per second as lampart check (2 workers)\n", a, 100 * s / c }'
done
