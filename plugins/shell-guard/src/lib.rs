//! `shell-guard`: an inspector that finds destructive or dangerous shell commands in
//! an action's arguments.
//!
//! # What it looks at
//!
//! Every string value in the arguments, or, when setting `fields` is given (a JSON
//! array of JSON pointers, e.g. `["/cmd", "/script"]`), only the values at those
//! pointers (strings, or every string beneath an array or object; missing fields are
//! skipped). Each string is parsed as a shell script. An array made only of strings
//! (`["bash", "-c", "rm -rf /"]`) is also analysed as one argv. Findings are located
//! at the JSON pointer of the field.
//!
//! # How
//!
//! A shell tokenizer ([`lexer`]) removes quotes and escapes (so `r'm' -"rf" /`,
//! `\rm` and `$'\x72\x6d'` are all `rm`), splits commands on `;`, `&&`, `||`, `|`,
//! `&`, newlines and parentheses, and extracts `$(…)`, backticks, `<(…)` and
//! here-documents. Commands are looked at through paths (`/bin/rm`) and wrappers
//! (`sudo`, `doas`, `env`, `nohup`, `nice`, `timeout`, `xargs`, `exec`, `command`,
//! `busybox`, `time`, `stdbuf`, `setsid`, `ionice`), and scripts are followed into
//! `bash -c` / `sh -c` (any shell, also `-lc`, `-ec`), `su -c`, `eval`,
//! `env -S`, `watch`, `ssh host …`, here-documents and here-strings fed to a shell,
//! `echo …`/`printf …` piped to a shell, and `echo … | base64 -d | sh`, up to
//! [`analysis::MAX_DEPTH`] levels deep.
//!
//! The arguments of ordinary commands are data: `echo "rm -rf /"`, `grep 'rm -rf /'
//! log`, `git commit -m "rm -rf /"` give no finding, because nothing runs them. They
//! do when something does: `echo "rm -rf /" | sh`, `bash -c "rm -rf /"`,
//! `echo "$(rm -rf /)"`. The fork-bomb check is textual, so a fork bomb inside quotes
//! is still found.
//!
//! # Rules
//!
//! | rule | severity | fires on |
//! | --- | --- | --- |
//! | `shell.recursive-delete` | critical | `rm` with `-r`/`-R`/`--recursive` and `-f`/`--force`/`--no-preserve-root` on `/`, `/*`, `~`, `~/`, `~/*`, `~user`, `$HOME`, `*`, `.`, `..`, or a top-level system directory (`/etc`, `/usr/*`, `/home`, …) or top-level glob (`/e*`); paths are normalised first (`//`, `/./`, `/tmp/..`); `find <such a path> -delete` (or `-exec rm`) with no filter |
//! | `shell.recursive-delete` | high | the same without `-f`; `rm -rf "$DIR"/*` (`/*` when `$DIR` is empty; `${DIR:?}` is fine) |
//! | `shell.disk-wipe` | critical | `mkfs*`, `mke2fs`, `wipefs`, `blkdiscard`, `sgdisk --zap-all`, `dd … of=/dev/…`, `shred /dev/…`, redirects, `tee`, `cp`, `mkswap` onto `/dev/sd*`, `/dev/nvme*`, `/dev/hd*`, `/dev/vd*`, `/dev/xvd*`, `/dev/mmcblk*`, `/dev/disk*`, `/dev/mapper/*`, … (`/dev/null`, `/dev/zero`, `/dev/tty`, … are harmless) |
//! | `shell.fork-bomb` | critical | a function piping itself into itself in the background (`:(){ :\|:& };:`, any name, any spacing, `function f { f\|f& }`), `f(){ f & f & }`, perl's `fork while fork` |
//! | `shell.pipe-to-shell` | high | `curl`/`wget`/`fetch`/`http`/`xh` piped (possibly through other stages) into a shell or `python`/`perl`/`ruby`/`node`/`php` that reads its program from stdin; `bash <(curl …)`, `sh -c "$(curl …)"`, `eval "$(wget …)"`, `source <(curl …)`, `bash <<< "$(curl …)"` |
//! | `shell.encoded-exec` | high | `base64 -d` (or `openssl base64 -d`) piped into a shell or interpreter |
//! | `shell.world-writable` | high | `chmod -R` with a world-writable mode (`777`, `666`, `o+w`, `a+rwx`, …), or such a `chmod` on `/` or a top-level system directory |
//! | `shell.privilege-escalation` | medium | `sudo`, `su`, `doas`, `pkexec`, `run0` |
//! | `shell.history-tamper` | medium | `history -c`/`-d`, `unset HISTFILE`/`HISTSIZE`, `HISTFILE=/dev/null` or empty, `HISTSIZE=0` (also via `export`), `set +o history`, redirects, `rm`, `shred`, `truncate`, `ln`, `tee` on `~/.bash_history`, `~/.zsh_history`, … |
//! | `shell.system-power` | high | `shutdown` (not `-c`), `reboot`, `halt`, `poweroff`, `init 0`/`6`, `telinit 0`/`6`, `systemctl poweroff`/`reboot`/`halt`/`kexec` |
//! | `shell-guard.invalid-settings` | critical | setting `fields` is not a JSON array of JSON pointers |
//!
//! Label `destructive-command` is added when any finding is critical.
//!
//! # Not seen
//!
//! Anything decided at run time: variables other than `$HOME` (`rm -rf $X`),
//! `$(echo rm) -rf /`, aliases and functions defined elsewhere, scripts downloaded to
//! a file and run later (`curl -o x.sh …; bash x.sh`), interpreters' own code
//! (`python -c "import shutil; shutil.rmtree('/')"`), `case` patterns containing `)`
//! inside `$(…)`.

pub mod analysis;
pub mod lexer;
pub mod parse;

use lampart_sdk::json::{is_pointer, push_token};
use lampart_sdk::serde_json::Value;
use lampart_sdk::{Finding, HostSettings, Info, Input, Inspection, Phase, Settings, Severity, log};

pub use analysis::{Hit, analyze, analyze_argv, rule};

/// The label added when any finding is critical.
pub const DESTRUCTIVE_LABEL: &str = "destructive-command";

/// At most this many findings per inspection.
pub const MAX_FINDINGS: usize = 256;

/// Whether one pointer is the other or lies beneath it.
fn nested(a: &str, b: &str) -> bool {
    let under = |long: &str, short: &str| {
        long.strip_prefix(short)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    under(a, b) || under(b, a)
}

/// Reads setting `fields`: `None` means every string.
pub fn fields(settings: &impl Settings) -> Result<Option<Vec<String>>, String> {
    settings
        .check_keys(&["fields"])
        .map_err(|e| e.to_string())?;
    let fields = settings
        .get_json::<Vec<String>>("fields")
        .map_err(|e| format!("{e} (expected a JSON array of JSON pointers)"))?;
    if let Some(bad) = fields.iter().flatten().find(|f| !is_pointer(f)) {
        return Err(format!(
            "setting `fields`: `{bad}` is not a JSON pointer (write `/{bad}`)"
        ));
    }
    Ok(fields)
}

/// Inspects `input` with settings from `settings`.
pub fn inspect_with(settings: &impl Settings, input: &Input) -> Inspection {
    let fields = match fields(settings) {
        Ok(f) => f,
        Err(e) => {
            return Inspection::new()
                .with_finding(Finding::critical("shell-guard.invalid-settings", e));
        }
    };
    let mut hits: Vec<(String, Hit)> = Vec::new();
    match fields {
        None => scan(input.args(), String::new(), &mut hits),
        Some(pointers) => {
            for p in pointers {
                if let Some(v) = input.arg(&p) {
                    scan(v, p, &mut hits);
                }
            }
        }
    }
    let mut out = Inspection::new();
    for (pointer, hit) in hits {
        if out.findings.len() >= MAX_FINDINGS {
            break;
        }
        // The same hit through an argv array and through one of its strings is one
        // finding, at the string.
        let duplicate = out.findings.iter().any(|f| {
            f.rule == hit.rule
                && f.message == hit.message
                && f.location.as_deref().is_some_and(|l| nested(l, &pointer))
        });
        if !duplicate {
            out.findings
                .push(Finding::new(hit.rule, hit.severity, hit.message).at(pointer));
        }
    }
    if out
        .findings
        .iter()
        .any(|f| f.severity == Severity::Critical)
    {
        out.add_label_once(DESTRUCTIVE_LABEL);
    }
    out
}

/// Analyses every string under `value` (at `pointer`), and every all-string array
/// as an argv too. Strings come before the argv of their array, so a finding is
/// located at the most precise pointer.
fn scan(value: &Value, pointer: String, hits: &mut Vec<(String, Hit)>) {
    match value {
        Value::String(s) => hits.extend(analyze(s).into_iter().map(|h| (pointer.clone(), h))),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                scan(item, format!("{pointer}/{i}"), hits);
            }
            let argv: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            if let Some(argv) = argv.filter(|a| !a.is_empty()) {
                hits.extend(
                    analyze_argv(&argv)
                        .into_iter()
                        .map(|h| (pointer.clone(), h)),
                );
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                scan(v, push_token(&pointer, k), hits);
            }
        }
        _ => {}
    }
}

fn inspect(input: &Input) -> Inspection {
    let out = inspect_with(&HostSettings, input);
    if let Some(f) = out
        .findings
        .iter()
        .find(|f| f.rule == "shell-guard.invalid-settings")
    {
        log::error(&f.message);
    }
    out
}

fn describe() -> Info {
    if let Err(e) = fields(&HostSettings) {
        log::error(&e);
        panic!("{e}");
    }
    Info::new("shell-guard", env!("CARGO_PKG_VERSION")).phases([Phase::Request])
}

lampart_sdk::export_inspector!(inspect, describe = describe);

#[cfg(test)]
mod tests;
