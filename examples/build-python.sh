#!/usr/bin/env bash
# Builds and checks the Python example inspector, examples/python/keywords.py:
#
#   1. installs the pinned componentize-py into a virtual environment, target/py-venv,
#      unless it is there already;
#   2. runs the SDK's and the example's unit tests natively (plain `python3 -m unittest`);
#   3. builds dist/plugins/python_keywords.wasm with componentize-py, unless it is newer
#      than everything it is built from;
#   4. runs examples/python/requests.jsonl through examples/python/chain.toml with
#      `lampart check` (no audit log) and compares each decision (verdict, findings and
#      redacted answer) with examples/python/expected.json.
#
# Needs python3 (3.10 or later) with pip, and a built host: `cargo build -p lampart` (or
# set LAMPART to another build of it; PYTHON to another interpreter). Exits non-zero when
# anything fails or differs.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
lampart=${LAMPART:-target/debug/lampart}
version=0.25.1 # componentize-py; sdk/python/README.md names the same version
venv=target/py-venv
out=dist/plugins/python_keywords.wasm

fail() {
  echo "build-python: $*" >&2
  exit 1
}

command -v "$python" >/dev/null || fail "\`$python\` not found: install Python 3.10 or later"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || fail "\`$python\` is $("$python" -V 2>&1); the SDK needs Python 3.10 or later"
[ -x "$lampart" ] || fail "\`$lampart\` not found: build it first with \`cargo build -p lampart\`"

# 1. componentize-py, exactly the pinned version. A virtual environment where Python can
# make one; else (Debian without python3-venv) a plain folder that pip installs into.
componentize=()
if [ -x "$venv/bin/componentize-py" ]; then
  componentize=("$venv/bin/componentize-py")
elif [ -d "$venv/site/componentize_py" ]; then
  componentize=(env "PYTHONPATH=$PWD/$venv/site" "$python" -c
    'import sys; from componentize_py import script; sys.argv[0] = "componentize-py"; sys.exit(script())')
fi
if [ "${#componentize[@]}" = 0 ] || [ "$("${componentize[@]}" --version 2>/dev/null)" != "componentize-py $version" ]; then
  echo "build-python: installing componentize-py $version into $venv"
  mkdir -p target
  if [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet "componentize-py==$version" \
      || fail "pip could not install componentize-py $version into $venv"
    componentize=("$venv/bin/componentize-py")
  else
    rm -rf "$venv"
    "$python" -m pip install --quiet --target "$venv/site" \
      "componentize-py==$version" \
      || fail "pip could not install componentize-py $version into $venv/site"
    componentize=(env "PYTHONPATH=$PWD/$venv/site" "$python" -c
      'import sys; from componentize_py import script; sys.argv[0] = "componentize-py"; sys.exit(script())')
  fi
  [ "$("${componentize[@]}" --version)" = "componentize-py $version" ] \
    || fail "componentize-py $version did not install"
fi

# 2. Unit tests, natively: no component, no componentize-py.
mkdir -p target/py-build
if ! {
  "$python" -m unittest discover --start-directory sdk/python/tests --quiet \
    && (cd examples/python && PYTHONPATH=../../sdk/python "$python" -m unittest --quiet test_keywords)
} >target/py-build/test.log 2>&1; then
  cat target/py-build/test.log >&2
  fail "unit tests failed"
fi
echo "build-python: unit tests passed"

# 3. The component. The example's folder and the SDK's are the module path; the WIT is the
# repository's own.
sources=(examples/python/keywords.py sdk/python/lampart_sdk/*.py wit/plugin.wit examples/build-python.sh)
stale=0
[ -e "$out" ] || stale=1
for source in "${sources[@]}"; do
  [ "$stale" = 1 ] || [ "$source" -nt "$out" ] && stale=1
done
if [ "$stale" = 1 ]; then
  mkdir -p dist/plugins
  # componentize-py looks for packages in $VIRTUAL_ENV too: only the paths given here count.
  env -u VIRTUAL_ENV "${componentize[@]}" -d wit -w inspector componentize keywords \
    -p examples/python -p sdk/python -o "$out.tmp" >target/py-build/componentize.log 2>&1 \
    || { cat target/py-build/componentize.log >&2; fail "componentize-py failed to build $out"; }
  mv "$out.tmp" "$out"
  echo "build-python: built $out"
else
  echo "build-python: $out is up to date"
fi

# 4. Decisions, compared per request id.
status=0
"$lampart" check --config examples/python/chain.toml examples/python/requests.jsonl --no-audit \
  >target/py-build/decisions.jsonl || status=$?
# 0 all allowed, 1 a deny: both expected here; 2 is an error.
[ "$status" != 2 ] || fail "\`lampart check\` failed (exit 2)"
"$python" - examples/python/expected.json target/py-build/decisions.jsonl <<'PY'
import json
import sys

expected_file, decisions_file = sys.argv[1:]
with open(expected_file, encoding="utf-8") as f:
    expected = json.load(f)
seen, problems = set(), []
with open(decisions_file, encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        d = json.loads(line)
        if "error" in d:
            problems.append(f"line {d.get('line')}: {d['error']}")
            continue
        rid = d["request_id"]
        seen.add(rid)
        want = expected.get(rid)
        if want is None:
            problems.append(f"{rid}: no expected decision in {expected_file}")
            continue
        if d["verdict"] != want["verdict"]:
            problems.append(f"{rid}: expected {want['verdict']}, got {d['verdict']} ({d['explanation']})")
        findings = [f"{f['rule']} {f.get('location') or ''}" for f in d.get("findings", [])]
        if "findings" in want and findings != want["findings"]:
            problems.append(f"{rid}: expected findings {want['findings']}, got {findings}")
        if "output" in want and d.get("output") != want["output"]:
            problems.append(f"{rid}: expected the answer {want['output']!r}, got {d.get('output')!r}")
for rid in expected:
    if rid not in seen:
        problems.append(f"{rid}: no decision")
for problem in problems:
    print(f"build-python: {problem}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"build-python: {len(seen)} decisions as expected")
PY
