//! Fixture files for `lampart test`: the cases to run and what each expects.
//!
//! A file is TOML (`.toml`, one `[[case]]` table per case) or JSON Lines (`.jsonl`, one case
//! object per line). Both hold the same case: `name`, `expect`, and the request's own fields
//! (`id`, `phase`, `principal`, `action`, `output`, `grants`, `labels`), exactly as `lampart
//! check` reads a request:
//!
//! ```toml
//! [[case]]
//! name = "ops may list files"
//! principal = { agent = "ops-bot", roles = ["ops"] }
//! action = { tool = "shell", args = { cmd = "ls -la" } }
//! expect = { verdict = "allow", findings-exactly = true }
//! ```
//!
//! Every case is read and checked before anything runs: an unknown field, a missing name, an
//! `expect` that asserts nothing or a request `check` would refuse is an error naming the
//! file, the case and the field.

use std::path::{Path, PathBuf};

use lampart::files;
use lampart::request::Request;
use serde_json::{Map, Value};

use super::expect::Expect;
use crate::cli::input::{LineReader, MAX_LINE_BYTES};

/// The fields of a request, which a case holds beside `name` and `expect`.
const REQUEST_FIELDS: [&str; 7] = [
    "id",
    "phase",
    "principal",
    "action",
    "output",
    "grants",
    "labels",
];

/// Where a case is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The n-th `[[case]]` of a TOML file, from 1.
    Case(usize),
    /// The line of a JSON Lines file, from 1.
    Line(usize),
}

/// One case, read and checked.
#[derive(Debug)]
pub struct Case {
    /// The file it is in.
    pub file: PathBuf,
    /// Where it is in that file.
    pub position: Position,
    /// Its name.
    pub name: String,
    /// The request to decide.
    pub request: Request,
    /// What the decision must be.
    pub expect: Expect,
}

/// Reads every case of a fixture file; the format is chosen by the file's extension.
///
/// # Errors
///
/// One line naming the file, the case and what is wrong: the file cannot be read or parsed,
/// has no case, or a case is malformed (see the module documentation).
pub fn read(path: &Path) -> anyhow::Result<Vec<Case>> {
    let file = escaped(path);
    let cases = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => read_toml(path)?,
        Some("jsonl") => read_jsonl(path)?,
        _ => anyhow::bail!(
            "fixture `{file}`: unknown kind of file; name it `.toml` (`[[case]]` tables) or `.jsonl` (one case per line)"
        ),
    };
    if cases.is_empty() {
        anyhow::bail!(
            "fixture `{file}`: no cases; write one `[[case]]` table (TOML) or one case object per line (JSON Lines)"
        );
    }
    for (index, case) in cases.iter().enumerate() {
        if let Some(first) = cases[..index].iter().find(|c| c.name == case.name) {
            anyhow::bail!(
                "fixture `{file}` {}: the name `{}` is already used by {}",
                place(case.position),
                lampart::text::escape(&case.name),
                place(first.position)
            );
        }
    }
    Ok(cases)
}

/// `case N` or `line N`.
fn place(position: Position) -> String {
    match position {
        Position::Case(n) => format!("case {n}"),
        Position::Line(n) => format!("line {n}"),
    }
}

fn escaped(path: &Path) -> String {
    lampart::text::escape(&path.display().to_string())
}

/// A TOML file: `[[case]]` tables and nothing else.
fn read_toml(path: &Path) -> anyhow::Result<Vec<Case>> {
    let file = escaped(path);
    let text = files::read_text_bounded(path, files::MAX_REQUEST_FILE_BYTES)
        .map_err(|e| anyhow::anyhow!("fixture `{file}`: {}", e.problem))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        anyhow::anyhow!(
            "fixture `{file}`{}: {}",
            line.map(|l| format!(" line {l}")).unwrap_or_default(),
            lampart::text::escape(e.message().trim())
        )
    })?;
    let mut cases = Vec::new();
    for (key, value) in table {
        let items = match (key.as_str(), value) {
            ("case", toml::Value::Array(items)) => items,
            ("case", _) => anyhow::bail!(
                "fixture `{file}`: `case` must be a list of tables: write each case as `[[case]]`"
            ),
            _ => anyhow::bail!(
                "fixture `{file}`: unknown field `{}`; a TOML fixture holds only `[[case]]` tables",
                lampart::text::escape(&key)
            ),
        };
        for (index, item) in items.into_iter().enumerate() {
            let position = Position::Case(index + 1);
            let value = lampart::config::toml_to_json(&item);
            cases.push(case(path, position, value)?);
        }
    }
    Ok(cases)
}

/// A JSON Lines file: one case object per line; blank lines are skipped.
fn read_jsonl(path: &Path) -> anyhow::Result<Vec<Case>> {
    let file = escaped(path);
    let opened = files::open_regular(path)
        .map_err(|e| anyhow::anyhow!("fixture `{file}`: {}", e.problem))?;
    let mut lines = LineReader::new(opened, MAX_LINE_BYTES);
    let mut cases = Vec::new();
    while let Some(line) = lines
        .next_line()
        .map_err(|e| anyhow::anyhow!("fixture `{file}`: {e}"))?
    {
        if line.is_blank() {
            continue;
        }
        let position = Position::Line(line.index + 1);
        let value = line
            .text
            .and_then(|text| {
                lampart::strict_json::from_str(&text)
                    .map_err(|e| lampart::text::escape(&e.to_string()))
            })
            .map_err(|message| {
                anyhow::anyhow!("fixture `{file}` {}: {message}", place(position))
            })?;
        cases.push(case(path, position, value)?);
    }
    Ok(cases)
}

/// Checks one case: its name, its `expect`, and the request made of its other fields.
fn case(path: &Path, position: Position, value: Value) -> anyhow::Result<Case> {
    let file = escaped(path);
    let fail = |name: Option<&str>, message: String| {
        let name = name
            .map(|n| format!(" (`{}`)", lampart::text::escape(n)))
            .unwrap_or_default();
        anyhow::anyhow!("fixture `{file}` {}{name}: {message}", place(position))
    };
    let Value::Object(mut fields) = value else {
        return Err(fail(
            None,
            format!(
                "a case must be {}, found {}",
                match position {
                    Position::Case(_) => "a table",
                    Position::Line(_) => "a JSON object",
                },
                lampart::request::json_kind(&value)
            ),
        ));
    };
    let name = match fields.remove("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        Some(Value::String(_)) => return Err(fail(None, "`name` must not be empty".into())),
        Some(other) => {
            return Err(fail(
                None,
                format!(
                    "`name` must be a string, found {}",
                    lampart::request::json_kind(&other)
                ),
            ));
        }
        None => return Err(fail(None, "missing field `name`".into())),
    };
    let fail = |message: String| fail(Some(&name), message);
    // A misspelt `expect` is named as such, not as a missing `expect`.
    if let Some(unknown) = fields
        .keys()
        .find(|k| *k != "expect" && !REQUEST_FIELDS.contains(&k.as_str()))
    {
        return Err(fail(format!(
            "unknown field `{}`; a case holds `name`, `expect` and the request's fields (`{}`)",
            lampart::text::escape(unknown),
            REQUEST_FIELDS.join("`, `")
        )));
    }
    let expect = match fields.remove("expect") {
        Some(expect) => Expect::from_value(expect).map_err(&fail)?,
        None => {
            return Err(fail(
                "missing field `expect`: a case must say what the decision should be".into(),
            ));
        }
    };
    let request = Request::from_value(Value::Object(Map::from_iter(fields)))
        .map_err(|e| fail(format!("request: {e}")))?;
    Ok(Case {
        file: path.to_path_buf(),
        position,
        name,
        request,
        expect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn error(name: &str, text: &str) -> String {
        let (_dir, path) = write(name, text);
        let err = read(&path).unwrap_err().to_string();
        assert!(!err.contains('\n'), "one line: {err}");
        err
    }

    const REQUEST: &str = r#"principal = { agent = "a" }
action = { tool = "shell", args = { cmd = "ls" } }"#;

    #[test]
    fn reads_toml_cases_with_their_requests() {
        let (_dir, path) = write(
            "t.toml",
            &format!(
                "[[case]]\nname = \"one\"\n{REQUEST}\nexpect = {{ verdict = \"allow\" }}\n\n[[case]]\nname = \"two\"\nphase = \"response\"\n{REQUEST}\noutput = {{ text = \"hi\" }}\nexpect = {{ findings = [\"x\"] }}\n"
            ),
        );
        let cases = read(&path).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].name, "one");
        assert_eq!(cases[0].request.action.args["cmd"], "ls");
        assert_eq!(cases[1].position, Position::Case(2));
        assert!(cases[1].request.output.is_some());
    }

    #[test]
    fn reads_json_lines_counting_blank_lines() {
        let (_dir, path) = write(
            "t.jsonl",
            "\n{\"name\":\"a\",\"principal\":{\"agent\":\"a\"},\"action\":{\"tool\":\"t\"},\"expect\":{\"verdict\":\"deny\"}}\n",
        );
        let cases = read(&path).unwrap();
        assert_eq!(cases[0].position, Position::Line(2));
    }

    #[test]
    fn names_the_file_the_case_and_the_field_of_every_mistake() {
        let err = error(
            "t.toml",
            &format!("[[case]]\nname = \"one\"\n{REQUEST}\nexpect = {{ verdit = \"allow\" }}\n"),
        );
        assert!(
            err.contains("t.toml` case 1 (`one`): `expect`: unknown field `verdit`"),
            "{err}"
        );
        let err = error(
            "t.toml",
            &format!(
                "[[case]]\nname = \"one\"\n{REQUEST}\nsurprise = 1\nexpect = {{ verdict = \"allow\" }}\n"
            ),
        );
        assert!(
            err.contains("case 1 (`one`): unknown field `surprise`"),
            "{err}"
        );
        let err = error(
            "t.jsonl",
            "{\"name\":\"a\",\"principal\":{\"agent\":\"a\"},\"action\":{\"tool\":\"t\",\"argz\":{}},\"expect\":{\"verdict\":\"deny\"}}\n",
        );
        assert!(
            err.contains("t.jsonl` line 1 (`a`): request: unknown field `argz`"),
            "{err}"
        );
        let err = error("t.jsonl", "{\"principal\":{\"agent\":\"a\"}}\n");
        assert!(err.contains("line 1: missing field `name`"), "{err}");
        let err = error("t.toml", &format!("[[case]]\nname = \"one\"\n{REQUEST}\n"));
        assert!(err.contains("missing field `expect`"), "{err}");
        let err = error(
            "t.toml",
            &format!("[[case]]\nname = \"one\"\n{REQUEST}\nexpect = {{}}\n"),
        );
        assert!(err.contains("asserts nothing"), "{err}");
        let err = error("t.toml", "[[cases]]\nname = \"x\"\n");
        assert!(err.contains("unknown field `cases`"), "{err}");
        let err = error("t.toml", "[[case]\n");
        assert!(err.contains("t.toml` line 1: "), "{err}");
        let err = error("t.jsonl", "{\"name\": 1,}\n");
        assert!(err.contains("t.jsonl` line 1: "), "{err}");
        let err = error("t.yaml", "");
        assert!(err.contains("unknown kind of file"), "{err}");
        let err = error("t.toml", "");
        assert!(err.contains("no cases"), "{err}");
        let case =
            format!("[[case]]\nname = \"one\"\n{REQUEST}\nexpect = {{ verdict = \"allow\" }}\n");
        let err = error("t.toml", &format!("{case}{case}"));
        assert!(
            err.contains("t.toml` case 2: the name `one` is already used by case 1"),
            "{err}"
        );
    }
}
