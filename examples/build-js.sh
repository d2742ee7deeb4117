#!/usr/bin/env bash
# Builds and checks the JavaScript example policy, examples/js/spend-limit.js:
#
#   1. installs the pinned JavaScript toolchain (sdk/js/toolchain/package-lock.json) into
#      target/js-tools, unless it is there already;
#   2. runs the SDK's and the example's unit tests with `node --test`;
#   3. builds dist/plugins/js_spend_limit.wasm with componentize-js, unless it is newer
#      than everything it is built from;
#   4. runs examples/js/requests.jsonl through examples/js/chain.toml with
#      `lampart check` (no audit log) and compares each decision's verdict with
#      examples/js/expected.json.
#
# Needs node (20 or later) and npm, and a built host: `cargo build -p lampart` (or set
# LAMPART to another build of it). Exits non-zero when anything fails or differs.
set -euo pipefail

cd "$(dirname "$0")/.."
tools=target/js-tools
lampart=${LAMPART:-target/debug/lampart}
out=dist/plugins/js_spend_limit.wasm

fail() {
  echo "build-js: $*" >&2
  exit 1
}

command -v node >/dev/null || fail "node not found: install Node.js 20 or later"
command -v npm >/dev/null || fail "npm not found: install Node.js 20 or later with npm"
[ -x "$lampart" ] || fail "\`$lampart\` not found: build it first with \`cargo build -p lampart\`"

# 1. The toolchain, exactly as locked.
if ! cmp -s sdk/js/toolchain/package-lock.json "$tools/package-lock.json" \
  || [ ! -e "$tools/node_modules/@bytecodealliance/componentize-js/src/cli.js" ]; then
  echo "build-js: installing the JavaScript toolchain into $tools"
  mkdir -p "$tools"
  cp sdk/js/toolchain/package.json sdk/js/toolchain/package-lock.json "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error) \
    || fail "npm ci failed in $tools"
fi

# 2. Unit tests, natively.
node --test sdk/js/test/sdk.test.js examples/js/spend-limit.test.js >target/js-tools/test.log 2>&1 \
  || { cat target/js-tools/test.log >&2; fail "unit tests failed"; }
echo "build-js: unit tests passed"

# 3. The component. The build runs from the repository root, so that the entry's
# imports of sdk/js/ are inside the folder componentize-js maps into the component.
sources=(examples/js/component.js examples/js/spend-limit.js sdk/js/lampart-sdk.js sdk/js/host.js
  wit/plugin.wit "$tools/package-lock.json")
stale=0
if [ ! -e "$out" ]; then
  stale=1
else
  for source in "${sources[@]}"; do
    if [ "$source" -nt "$out" ]; then
      stale=1
    fi
  done
fi
if [ "$stale" = 1 ]; then
  mkdir -p dist/plugins
  node "$tools/node_modules/@bytecodealliance/componentize-js/src/cli.js" examples/js/component.js \
    --wit wit --world-name policy --disable http fetch-event --out "$out.tmp" \
    || fail "componentize-js failed to build $out"
  mv "$out.tmp" "$out"
  echo "build-js: built $out"
else
  echo "build-js: $out is up to date"
fi

# 4. Decisions, compared per request id.
status=0
"$lampart" check --config examples/js/chain.toml examples/js/requests.jsonl --no-audit \
  >target/js-tools/decisions.jsonl || status=$?
# 0 all allowed, 1 a deny, 3 an elevation: all expected here; 2 is an error.
[ "$status" != 2 ] || fail "\`lampart check\` failed (exit 2)"
node --input-type=module - examples/js/expected.json target/js-tools/decisions.jsonl <<'JS'
import { readFileSync } from 'node:fs';
const [expectedFile, decisionsFile] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
const seen = new Set();
const problems = [];
for (const line of readFileSync(decisionsFile, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const d = JSON.parse(line);
  if (d.error !== undefined) {
    problems.push(`line ${d.line}: ${d.error}`);
    continue;
  }
  seen.add(d.request_id);
  if (!(d.request_id in expected)) {
    problems.push(`${d.request_id}: no expected verdict in ${expectedFile}`);
  } else if (d.verdict !== expected[d.request_id]) {
    problems.push(`${d.request_id}: expected ${expected[d.request_id]}, got ${d.verdict} (${d.explanation})`);
  }
}
for (const id of Object.keys(expected)) {
  if (!seen.has(id)) problems.push(`${id}: no decision`);
}
if (problems.length > 0) {
  for (const p of problems) console.error(`build-js: ${p}`);
  process.exit(1);
}
console.log(`build-js: ${seen.size} decisions as expected`);
JS
