#!/usr/bin/env bash
# Makes a plugin project of every kind in every language with `lampart plugin new` and checks
# that it passes its own tests as made; one per language is also built as a component and
# run through `lampart plugin run`. Run after examples/build-python.sh and
# examples/build-js.sh, which install the Python and JavaScript build tools under target/.
#
# Needs a built host (`cargo build -p lampart`, or LAMPART=path). Exits non-zero when a
# project does not build or its tests fail.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
lampart=$root/${LAMPART:-target/debug/lampart}
work=$root/target/templates
fail() {
  echo "check-templates: $*" >&2
  exit 1
}
[ -x "$lampart" ] || fail "\`$lampart\` not found: build it first with \`cargo build -p lampart\`"
rm -rf "$work/projects"
mkdir -p "$work/projects"

# A request each kind decides on: the policy requires a scope, the inspector redacts.
cat >"$work/policy.json" <<'JSON'
{"principal": {"agent": "a", "session": "s"}, "action": {"tool": "send_money", "args": {"amount": 5000}}}
JSON
cat >"$work/inspector.json" <<'JSON'
{"principal": {"agent": "a", "session": "s"}, "action": {"tool": "send_email", "args": {"body": "the password is hunter2"}}}
JSON

# componentize-py, from target/py-venv (a virtual environment, or a plain folder where
# Python could not make one).
componentize_py() {
  if [ -x "$root/target/py-venv/bin/componentize-py" ]; then
    "$root/target/py-venv/bin/componentize-py" "$@"
  else
    PYTHONPATH="$root/target/py-venv/site" python3 -c \
      'import sys; from componentize_py import script; sys.argv[0] = "componentize-py"; sys.exit(script())' "$@"
  fi
}

# Runs the component through `lampart plugin run` and checks that the answer is the
# template's.
run_component() {
  local wasm=$1 kind=$2 out
  out=$("$lampart" plugin run "$wasm" "$work/$kind.json" --format json) \
    || fail "$wasm: lampart plugin run failed: $out"
  case $kind in
  policy) grep -q '"payments:large"' <<<"$out" || fail "$wasm: expected a required scope, got: $out" ;;
  inspector) grep -q 'REDACTED' <<<"$out" || fail "$wasm: expected a redaction, got: $out" ;;
  esac
  echo "check-templates: $wasm decides as its template says"
}

for kind in policy inspector; do
  # Rust: natively, then as a component (one target directory for every project).
  dir=$work/projects/rust-$kind
  "$lampart" plugin new --lang rust --kind "$kind" "rust-$kind" --dir "$dir" >/dev/null
  (cd "$dir" && CARGO_TARGET_DIR=$work/cargo cargo test --quiet >"$dir/test.log" 2>&1) \
    || { cat "$dir/test.log" >&2; fail "rust $kind: cargo test failed"; }
  (cd "$dir" && CARGO_TARGET_DIR=$work/cargo cargo build --quiet --profile plugin --target wasm32-wasip2) \
    || fail "rust $kind: the component did not build"
  run_component "$work/cargo/wasm32-wasip2/plugin/rust_$kind.wasm" "$kind"

  # JavaScript: the tools examples/build-js.sh installed.
  dir=$work/projects/js-$kind
  "$lampart" plugin new --lang js --kind "$kind" "js-$kind" --dir "$dir" >/dev/null
  ln -s "$root/target/js-tools/node_modules" "$dir/node_modules"
  (cd "$dir" && node --test >"$dir/test.log" 2>&1) \
    || { cat "$dir/test.log" >&2; fail "js $kind: node --test failed"; }
  if [ "$kind" = policy ]; then
    (cd "$dir" && npm run --silent build >"$dir/build.log" 2>&1) \
      || { cat "$dir/build.log" >&2; fail "js $kind: the component did not build"; }
    run_component "$dir/js-$kind.wasm" "$kind"
  fi

  # Python: componentize-py as examples/build-python.sh installed it.
  dir=$work/projects/py-$kind
  "$lampart" plugin new --lang python --kind "$kind" "py-$kind" --dir "$dir" >/dev/null
  (cd "$dir" && python3 -m unittest --quiet >"$dir/test.log" 2>&1) \
    || { cat "$dir/test.log" >&2; fail "python $kind: python3 -m unittest failed"; }
  if [ "$kind" = inspector ]; then
    (cd "$dir" && componentize_py -d wit -w "$kind" componentize "py_$kind" -p . -o "py-$kind.wasm" >"$dir/build.log" 2>&1) \
      || { cat "$dir/build.log" >&2; fail "python $kind: the component did not build"; }
    run_component "$dir/py-$kind.wasm" "$kind"
  fi
done
echo "check-templates: every template passes its tests"
