//! shell-guard's lexer and analysis on arbitrary text: they never panic or loop (run with
//! `-timeout`), and a recursive delete of `/` run through `sh -c` or `bash -c` is found
//! whatever else the inner script holds, however it is quoted.

#![no_main]

use lampart_sdk::Severity;
use libfuzzer_sys::fuzz_target;
use shell_guard::analysis::{analyze, analyze_argv, rule};
use shell_guard::{lexer, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    lexer::tokenize(text);
    lexer::substitutions_in(text);
    parse::parse(text);
    let hits = analyze(text);
    assert!(hits.iter().all(|h| !h.message.contains('\n')));
    analyze_argv(&text.split(' ').collect::<Vec<_>>());

    // `rm -rf /` first, then the arbitrary text: a shell runs the delete before it reads on.
    let inner = format!("rm -rf /\n{text}");
    for script in [
        format!("sh -c {}", single_quoted(&inner)),
        format!("bash -c {}", double_quoted(&inner)),
        format!("sh -c {}\n{text}", single_quoted("rm -rf /")),
    ] {
        assert_finds_delete(&analyze(&script), &script);
    }
    assert_finds_delete(&analyze_argv(&["sh", "-c", &inner]), &inner);
});

fn assert_finds_delete(hits: &[shell_guard::Hit], script: &str) {
    assert!(
        hits.iter()
            .any(|h| h.rule == rule::RECURSIVE_DELETE && h.severity == Severity::Critical),
        "no critical recursive delete in {script:?}: {hits:?}"
    );
}

/// `text` as one single-quoted shell word: `'` is written `'\''`.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as one double-quoted shell word: `\`, `"`, `$` and `` ` `` are escaped.
fn double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
