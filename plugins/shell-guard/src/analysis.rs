//! Finding dangerous commands in a parsed script.

use lampart_sdk::Severity;

use crate::lexer::{RedirOp, Sub, Word};
use crate::parse::{Command, Pipeline, parse};

/// How deep nested scripts (`bash -c`, `$(…)`, `eval`, piped `echo`) are followed.
pub const MAX_DEPTH: usize = 8;
/// How many scripts (the top one and nested ones) one string may lead to.
const MAX_SCRIPTS: usize = 512;
/// How many hits one string may produce.
const MAX_HITS: usize = 64;
/// Commands are quoted in messages up to this many characters.
const MAX_SHOWN: usize = 120;

/// Rule ids.
pub mod rule {
    /// `rm -rf /` and friends.
    pub const RECURSIVE_DELETE: &str = "shell.recursive-delete";
    /// `mkfs`, `dd of=/dev/sda`, `> /dev/sda`, `shred /dev/sda`, `wipefs`.
    pub const DISK_WIPE: &str = "shell.disk-wipe";
    /// `:(){ :|:& };:` and variants.
    pub const FORK_BOMB: &str = "shell.fork-bomb";
    /// `curl … | sh`, `bash <(curl …)`.
    pub const PIPE_TO_SHELL: &str = "shell.pipe-to-shell";
    /// `echo … | base64 -d | sh`.
    pub const ENCODED_EXEC: &str = "shell.encoded-exec";
    /// `chmod -R 777`, `chmod 777 /etc`.
    pub const WORLD_WRITABLE: &str = "shell.world-writable";
    /// `sudo`, `su`, `doas`, `pkexec`, `run0`.
    pub const PRIVILEGE_ESCALATION: &str = "shell.privilege-escalation";
    /// `history -c`, `unset HISTFILE`, `HISTFILE=/dev/null`, `> ~/.bash_history`.
    pub const HISTORY_TAMPER: &str = "shell.history-tamper";
    /// `shutdown`, `reboot`, `halt`, `poweroff`, `init 0`, `systemctl reboot`.
    pub const SYSTEM_POWER: &str = "shell.system-power";
}

/// Something dangerous found in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule's id (see [`rule`]).
    pub rule: &'static str,
    /// How serious.
    pub severity: Severity,
    /// One line naming the command.
    pub message: String,
}

/// Analyses a shell script (a command line, a script file's text).
pub fn analyze(script: &str) -> Vec<Hit> {
    let mut a = Analyzer::default();
    a.script(script, 0);
    a.hits
}

/// Analyses an argv array (`["bash", "-c", "rm -rf /"]`) as one command.
pub fn analyze_argv(argv: &[&str]) -> Vec<Hit> {
    let mut a = Analyzer::default();
    let command = Command {
        words: argv.iter().map(|s| Word::plain(s)).collect(),
        redirects: Vec::new(),
    };
    a.pipeline(
        &Pipeline {
            commands: vec![command],
        },
        0,
    );
    a.hits
}

#[derive(Default)]
struct Analyzer {
    hits: Vec<Hit>,
    scripts: usize,
}

/// A command with its wrappers (`sudo`, `env`, `nohup`, …) taken off.
struct Resolved {
    /// The command's name (its path's last component).
    name: String,
    /// Its arguments.
    args: Vec<Word>,
    /// The whole command as written, for messages.
    shown: String,
    /// Whether it reads a program to run from its standard input.
    reads_program: bool,
}

const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "mksh",
    "ash",
    "fish",
    "csh",
    "tcsh",
    "rbash",
    "yash",
    "busybox-sh",
];
const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch", "http", "https", "xh", "curlie"];
const SYSTEM_DIRS: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "media",
    "mnt",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "snap",
    "srv",
    "sys",
    "usr",
    "var",
    "Applications",
    "Library",
    "System",
    "Users",
    "Volumes",
    "private",
];
const HISTORY_FILES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".history",
    ".sh_history",
    ".histfile",
    ".ash_history",
];

/// The options that take an argument, for the wrappers that [`Analyzer::command`] looks
/// through.
fn wrapper_options(name: &str) -> &'static [&'static str] {
    match name {
        "exec" => &["-a"],
        "time" => &["-f", "-o", "--format", "--output"],
        "nice" => &["-n", "--adjustment"],
        "ionice" => &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
        "stdbuf" => &["-i", "-o", "-e", "--input", "--output", "--error"],
        "xargs" => &[
            "-a",
            "-d",
            "-E",
            "-I",
            "-L",
            "-n",
            "-P",
            "-s",
            "--arg-file",
            "--delimiter",
            "--eof",
            "--replace",
            "--max-lines",
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--process-slot-var",
        ],
        _ => &[],
    }
}

fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

fn is_interpreter(name: &str) -> bool {
    is_shell(name)
        || name.starts_with("python")
        || matches!(name, "perl" | "ruby" | "node" | "nodejs" | "php" | "lua")
}

/// The last path component: `/usr/bin/rm` → `rm`.
fn command_name(text: &str) -> &str {
    text.rsplit('/').next().unwrap_or(text)
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`), so it stays on one line.
fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

fn shown(words: &[Word]) -> String {
    let joined = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let joined = joined.replace(['\n', '\r'], " ");
    if joined.chars().count() > MAX_SHOWN {
        let cut: String = joined.chars().take(MAX_SHOWN).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

fn is_assignment(text: &str) -> bool {
    match text.split_once('=') {
        Some((name, _)) => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Skips options (and the arguments of those in `with_arg`); returns the index of
/// the first operand.
fn skip_options(words: &[Word], mut i: usize, with_arg: &[&str]) -> usize {
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        if t == "--" {
            return i + 1;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        i += if with_arg.contains(&t) { 2 } else { 1 };
    }
    i
}

impl Analyzer {
    fn hit(&mut self, rule: &'static str, severity: Severity, message: String) {
        if self.hits.len() >= MAX_HITS {
            return;
        }
        // A message is one line: words quoted from the command may hold line breaks and
        // other control characters, shown escaped.
        let message = one_line(&message);
        if !self
            .hits
            .iter()
            .any(|h| h.rule == rule && h.message == message)
        {
            self.hits.push(Hit {
                rule,
                severity,
                message,
            });
        }
    }

    fn script(&mut self, script: &str, depth: usize) {
        if depth > MAX_DEPTH || self.scripts >= MAX_SCRIPTS || script.trim().is_empty() {
            return;
        }
        self.scripts += 1;
        if let Some(name) = fork_bomb(script) {
            self.hit(
                rule::FORK_BOMB,
                Severity::Critical,
                format!("fork bomb: function `{name}` spawns copies of itself"),
            );
        }
        for pipeline in parse(script) {
            self.pipeline(&pipeline, depth);
        }
    }

    fn subs(&mut self, subs: &[Sub], depth: usize) {
        for sub in subs {
            self.script(&sub.script, depth + 1);
        }
    }

    fn pipeline(&mut self, pipeline: &Pipeline, depth: usize) {
        let stages: Vec<Option<Resolved>> = pipeline
            .commands
            .iter()
            .map(|c| self.command(c, depth))
            .collect();
        for (j, stage) in stages.iter().enumerate() {
            let Some(stage) = stage else { continue };
            if !stage.reads_program || j == 0 {
                continue;
            }
            let downloader = stages[..j].iter().enumerate().find_map(|(k, s)| {
                s.as_ref()
                    .filter(|s| DOWNLOADERS.contains(&s.name.as_str()))
                    .map(|s| (k, s))
            });
            if let Some((k, d)) = downloader {
                let between = if k + 1 == j { "" } else { " | …" };
                self.hit(
                    rule::PIPE_TO_SHELL,
                    Severity::High,
                    format!(
                        "downloaded script run by `{}`: `{}{between} | {}`",
                        stage.name, d.shown, stage.shown
                    ),
                );
            }
            let Some(prev) = &stages[j - 1] else { continue };
            if let Some(text) = echoed(prev) {
                self.script(&text, depth + 1);
            }
            if is_base64_decode(prev) {
                self.hit(
                    rule::ENCODED_EXEC,
                    Severity::High,
                    format!(
                        "decoded data run by `{}`: `{} | {}`",
                        stage.name, prev.shown, stage.shown
                    ),
                );
                if j >= 2
                    && let Some(Some(source)) = stages.get(j - 2)
                    && let Some(text) = echoed(source)
                    && let Some(decoded) = base64_decode(&text)
                {
                    self.script(&decoded, depth + 1);
                }
            }
        }
    }

    /// Checks one simple command; returns it resolved, for the pipeline checks.
    fn command(&mut self, cmd: &Command, depth: usize) -> Option<Resolved> {
        for w in &cmd.words {
            self.subs(&w.subs, depth);
        }
        for r in &cmd.redirects {
            self.subs(&r.target.subs, depth);
            self.subs(&r.body_subs, depth);
        }
        let shown_all = shown(&cmd.words);
        for r in &cmd.redirects {
            let target = r.target.text.as_str();
            if matches!(r.op, RedirOp::Write | RedirOp::Append) {
                if is_block_device(target) {
                    self.hit(
                        rule::DISK_WIPE,
                        Severity::Critical,
                        format!("output redirected onto disk device `{target}`: `{shown_all} > {target}`"),
                    );
                }
                if is_history_file(target) {
                    self.hit(
                        rule::HISTORY_TAMPER,
                        Severity::Medium,
                        format!("shell history file `{target}` overwritten by a redirection"),
                    );
                }
            }
        }

        let words = &cmd.words;
        let mut i = 0;
        loop {
            while let Some(w) = words.get(i).filter(|w| is_assignment(&w.text)) {
                self.assignment(&w.text);
                i += 1;
            }
            let name = command_name(&words.get(i)?.text).to_owned();
            let next = match name.as_str() {
                "sudo" | "doas" | "pkexec" | "run0" => {
                    self.hit(
                        rule::PRIVILEGE_ESCALATION,
                        Severity::Medium,
                        format!("`{name}` runs a command with elevated privileges: `{shown_all}`"),
                    );
                    const WITH_ARG: &[&str] = &[
                        "-u",
                        "-g",
                        "-C",
                        "-D",
                        "-h",
                        "-p",
                        "-r",
                        "-t",
                        "-T",
                        "-U",
                        "--user",
                        "--group",
                        "--chdir",
                        "--host",
                        "--prompt",
                        "--role",
                        "--type",
                        "--close-from",
                        "--command-timeout",
                        "--other-user",
                        "--unit",
                        "--property",
                        "--description",
                        "--slice",
                        "--nice",
                    ];
                    skip_options(words, i + 1, WITH_ARG)
                }
                "su" => {
                    self.hit(
                        rule::PRIVILEGE_ESCALATION,
                        Severity::Medium,
                        format!("`su` switches to another user: `{shown_all}`"),
                    );
                    let args = &words[i + 1..];
                    for (k, w) in args.iter().enumerate() {
                        let script = match w.text.as_str() {
                            "-c" | "--command" | "-C" | "--session-command" => {
                                args.get(k + 1).map(|w| w.text.clone())
                            }
                            t => t.strip_prefix("--command=").map(str::to_owned),
                        };
                        if let Some(script) = script {
                            self.script(&script, depth + 1);
                        }
                    }
                    return None;
                }
                "env" => {
                    let mut k = i + 1;
                    while let Some(w) = words.get(k) {
                        let t = w.text.as_str();
                        if t == "-S" || t == "--split-string" || t.starts_with("--split-string=") {
                            // `env -S 'rm -rf /'`: the string is split into the command.
                            let (first, rest) = match t.strip_prefix("--split-string=") {
                                Some(s) => (s.to_owned(), k + 1),
                                None => (
                                    words.get(k + 1).map(|w| w.text.clone()).unwrap_or_default(),
                                    k + 2,
                                ),
                            };
                            let mut script = first;
                            for w in words.iter().skip(rest) {
                                script.push(' ');
                                script.push_str(&w.text);
                            }
                            self.script(&script, depth + 1);
                            return None;
                        }
                        if t == "--" {
                            k += 1;
                            break;
                        }
                        if is_assignment(t) {
                            self.assignment(t);
                            k += 1;
                        } else if t.starts_with('-') && t != "-" {
                            k += if matches!(t, "-u" | "--unset" | "-C" | "--chdir") {
                                2
                            } else {
                                1
                            };
                        } else {
                            break;
                        }
                    }
                    k
                }
                "nohup" | "builtin" | "setsid" | "unbuffer" | "time" | "exec" | "nice"
                | "ionice" | "stdbuf" | "xargs" => {
                    skip_options(words, i + 1, wrapper_options(&name))
                }
                "command" => {
                    let rest = &words[i + 1..];
                    if rest
                        .iter()
                        .take_while(|w| w.text.starts_with('-'))
                        .any(|w| w.text.contains('v') || w.text.contains('V'))
                    {
                        return None; // `command -v x` only looks x up.
                    }
                    skip_options(words, i + 1, &[])
                }
                "timeout" => {
                    skip_options(words, i + 1, &["-s", "--signal", "-k", "--kill-after"]) + 1
                }
                "busybox" => i + 1,
                "watch" => {
                    let k = skip_options(words, i + 1, &["-n", "--interval", "-q", "--equexit"]);
                    let script = words[k.min(words.len())..]
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    self.script(&script, depth + 1);
                    return None;
                }
                "ssh" => {
                    const WITH_ARG: &[&str] = &[
                        "-B", "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l",
                        "-m", "-O", "-o", "-p", "-Q", "-R", "-S", "-W", "-w",
                    ];
                    let k = skip_options(words, i + 1, WITH_ARG) + 1; // the host
                    let script = words[k.min(words.len())..]
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    self.script(&script, depth + 1);
                    return None;
                }
                _ => break,
            };
            i = next;
            if i >= words.len() {
                return None;
            }
        }

        let name = command_name(&words[i].text).to_owned();
        let args = words[i + 1..].to_vec();
        let mut resolved = Resolved {
            name,
            args,
            shown: shown_all,
            reads_program: false,
        };
        self.check(&mut resolved, cmd, depth);
        Some(resolved)
    }

    /// `NAME=value` as a prefix or an argument of `export`/`declare`/….
    fn assignment(&mut self, text: &str) {
        let Some((name, value)) = text.split_once('=') else {
            return;
        };
        let tampered = match name {
            "HISTFILE" => value.is_empty() || value == "/dev/null",
            "HISTSIZE" | "HISTFILESIZE" | "SAVEHIST" => value.trim() == "0",
            _ => false,
        };
        if tampered {
            self.hit(
                rule::HISTORY_TAMPER,
                Severity::Medium,
                format!("shell history disabled: `{text}`"),
            );
        }
    }

    /// The checks on a resolved command.
    fn check(&mut self, r: &mut Resolved, cmd: &Command, depth: usize) {
        let args: Vec<&str> = r.args.iter().map(|w| w.text.as_str()).collect();
        let name = r.name.as_str();
        let shown = r.shown.clone();
        match name {
            "rm" => self.rm(&args, &shown),
            "find" => self.find(&args, &shown),
            "chmod" => self.chmod(&args, &shown),
            "dd" => {
                for a in &args {
                    if let Some(dev) = a.strip_prefix("of=").filter(|d| is_device(d)) {
                        self.hit(
                            rule::DISK_WIPE,
                            Severity::Critical,
                            format!("`dd` writes onto device `{dev}`: `{shown}`"),
                        );
                    }
                }
            }
            "shred" | "wipe" | "srm" => {
                for a in &args {
                    if is_device(a) {
                        self.hit(
                            rule::DISK_WIPE,
                            Severity::Critical,
                            format!("`{name}` overwrites device `{a}`: `{shown}`"),
                        );
                    }
                }
                self.history_operands(&args, &shown);
            }
            n if n.starts_with("mkfs") || n == "mke2fs" || n == "newfs" => self.hit(
                rule::DISK_WIPE,
                Severity::Critical,
                format!("`{n}` creates a file system, erasing what was there: `{shown}`"),
            ),
            "wipefs" | "blkdiscard" => self.hit(
                rule::DISK_WIPE,
                Severity::Critical,
                format!("`{name}` erases disk signatures or blocks: `{shown}`"),
            ),
            "mkswap" | "tee" | "cp" | "pv" => {
                for a in args.iter().filter(|a| is_block_device(a)) {
                    self.hit(
                        rule::DISK_WIPE,
                        Severity::Critical,
                        format!("`{name}` writes onto disk device `{a}`: `{shown}`"),
                    );
                }
                self.history_operands(&args, &shown);
            }
            "sgdisk"
                if args
                    .iter()
                    .any(|a| matches!(*a, "-Z" | "--zap-all" | "-o" | "--clear")) =>
            {
                self.hit(
                    rule::DISK_WIPE,
                    Severity::Critical,
                    format!("`sgdisk` destroys the partition table: `{shown}`"),
                )
            }
            "truncate" | "ln" => self.history_operands(&args, &shown),
            "history" => {
                let clears = args.iter().any(|a| {
                    a.starts_with('-')
                        && !a.starts_with("--")
                        && (a.contains('c') || a.contains('d'))
                });
                if clears {
                    self.hit(
                        rule::HISTORY_TAMPER,
                        Severity::Medium,
                        format!("shell history erased: `{shown}`"),
                    );
                }
            }
            "unset"
                if args
                    .iter()
                    .any(|a| matches!(*a, "HISTFILE" | "HISTSIZE" | "HISTFILESIZE")) =>
            {
                self.hit(
                    rule::HISTORY_TAMPER,
                    Severity::Medium,
                    format!("shell history disabled: `{shown}`"),
                );
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for a in &args {
                    self.assignment(a);
                }
            }
            "set" if args.windows(2).any(|w| w[0] == "+o" && w[1] == "history") => {
                self.hit(
                    rule::HISTORY_TAMPER,
                    Severity::Medium,
                    format!("shell history disabled: `{shown}`"),
                );
            }
            "shutdown" | "reboot" | "halt" | "poweroff" => {
                let cancel = args
                    .iter()
                    .any(|a| matches!(*a, "-c" | "--cancel" | "--help"));
                if !cancel {
                    self.hit(
                        rule::SYSTEM_POWER,
                        Severity::High,
                        format!("`{name}` stops or restarts the machine: `{shown}`"),
                    );
                }
            }
            "init" | "telinit" if args.first().is_some_and(|a| matches!(*a, "0" | "6")) => self
                .hit(
                    rule::SYSTEM_POWER,
                    Severity::High,
                    format!("`{name}` changes to a halt or reboot runlevel: `{shown}`"),
                ),
            "systemctl" => {
                let verb = args.iter().find(|a| !a.starts_with('-'));
                if let Some(v) = verb.filter(|v| {
                    matches!(
                        **v,
                        "poweroff" | "reboot" | "halt" | "kexec" | "soft-reboot"
                    )
                }) {
                    self.hit(
                        rule::SYSTEM_POWER,
                        Severity::High,
                        format!("`systemctl {v}` stops or restarts the machine: `{shown}`"),
                    );
                }
            }
            "eval" => {
                self.downloaded_program(r, &shown);
                self.script(&args.join(" "), depth + 1);
            }
            "source" | "." => self.downloaded_program(r, &shown),
            n if is_interpreter(n) => {
                self.downloaded_program(r, &shown);
                let (script, reads_program) = interpreter_args(n, &args);
                if let Some(script) = script {
                    if is_shell(n) {
                        self.script(script, depth + 1);
                    }
                } else if reads_program && is_shell(n) {
                    // A shell fed by a here-document or a here-string runs it.
                    for redirect in &cmd.redirects {
                        match (redirect.op, &redirect.body) {
                            (RedirOp::HereDoc, Some(body)) => self.script(body, depth + 1),
                            (RedirOp::HereString, _) => {
                                self.script(&redirect.target.text, depth + 1);
                                self.downloaded_words(
                                    name,
                                    std::slice::from_ref(&redirect.target),
                                    &shown,
                                );
                            }
                            _ => {}
                        }
                    }
                }
                r.reads_program = reads_program;
            }
            _ => {}
        }
    }

    /// `bash <(curl …)`, `sh -c "$(curl …)"`, `eval "$(wget -O- …)"`.
    fn downloaded_program(&mut self, r: &Resolved, shown: &str) {
        self.downloaded_words(&r.name, &r.args, shown);
    }

    fn downloaded_words(&mut self, name: &str, words: &[Word], shown: &str) {
        for w in words {
            for sub in &w.subs {
                if let Some(d) = downloads(&sub.script) {
                    self.hit(
                        rule::PIPE_TO_SHELL,
                        Severity::High,
                        format!("output of `{d}` run by `{name}`: `{shown}`"),
                    );
                }
            }
        }
    }

    fn history_operands(&mut self, args: &[&str], shown: &str) {
        if let Some(file) = args.iter().find(|a| is_history_file(a)) {
            self.hit(
                rule::HISTORY_TAMPER,
                Severity::Medium,
                format!("shell history file `{file}` tampered with: `{shown}`"),
            );
        }
    }

    fn rm(&mut self, args: &[&str], shown: &str) {
        let (mut recursive, mut force, mut no_preserve) = (false, false, false);
        let mut operands = Vec::new();
        let mut end = false;
        for a in args {
            if end || !a.starts_with('-') || *a == "-" {
                operands.push(*a);
            } else if *a == "--" {
                end = true;
            } else if let Some(long) = a.strip_prefix("--") {
                // GNU getopt accepts any unambiguous prefix: `--rec`, `--for`.
                let long = long.split('=').next().unwrap_or(long);
                let abbreviates = |full: &str| !long.is_empty() && full.starts_with(long);
                recursive |= abbreviates("recursive") && long.len() >= 2;
                force |= abbreviates("force");
                no_preserve |= abbreviates("no-preserve-root") && long.len() >= 2;
            } else {
                for c in a.chars().skip(1) {
                    match c {
                        'r' | 'R' => recursive = true,
                        'f' => force = true,
                        _ => {}
                    }
                }
            }
        }
        self.history_operands(&operands, shown);
        if !recursive {
            return;
        }
        for op in operands {
            if let Some(what) = dangerous_target(op) {
                let severity = if force || no_preserve {
                    Severity::Critical
                } else {
                    Severity::High
                };
                self.hit(
                    rule::RECURSIVE_DELETE,
                    severity,
                    format!("recursive delete of {what} `{op}`: `{shown}`"),
                );
            } else if let Some(var) = empty_variable_prefix(op) {
                self.hit(
                    rule::RECURSIVE_DELETE,
                    Severity::High,
                    format!("recursive delete of `{op}`, which is `/…` when `${var}` is empty: `{shown}`"),
                );
            }
        }
    }

    fn find(&mut self, args: &[&str], shown: &str) {
        let mut i = 0;
        while i < args.len() && matches!(args[i], "-H" | "-L" | "-P") {
            i += 1;
        }
        let mut paths = Vec::new();
        while i < args.len() && !args[i].starts_with('-') && !matches!(args[i], "(" | "!" | ",") {
            paths.push(args[i]);
            i += 1;
        }
        if paths.is_empty() {
            paths.push(".");
        }
        let (mut deletes, mut filtered) = (false, false);
        while i < args.len() {
            match args[i] {
                "-delete" => deletes = true,
                "-depth" | "-xdev" | "-mount" | "-print" | "-print0" | "-ignore_readdir_race" => {}
                "-mindepth" | "-maxdepth" => i += 1,
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    deletes |= args.get(i + 1).is_some_and(|c| command_name(c) == "rm");
                    while i < args.len() && !matches!(args[i], ";" | "+") {
                        i += 1;
                    }
                }
                _ => filtered = true,
            }
            i += 1;
        }
        if deletes && !filtered {
            for p in paths {
                if let Some(what) = dangerous_target(p) {
                    self.hit(
                        rule::RECURSIVE_DELETE,
                        Severity::Critical,
                        format!("`find` deletes everything in {what} `{p}`: `{shown}`"),
                    );
                }
            }
        }
    }

    fn chmod(&mut self, args: &[&str], shown: &str) {
        let mut recursive = false;
        let mut mode: Option<&str> = None;
        let mut operands = Vec::new();
        let mut end = false;
        for a in args {
            // A mode such as `-w` or `-rwx`: one character, then mode letters only.
            let is_mode_like = a
                .chars()
                .skip(1)
                .try_fold(false, |_, c| "rwxXst".contains(c).then_some(true))
                .unwrap_or(false);
            if !end && *a == "--" {
                end = true;
            } else if !end
                && (*a == "--recursive"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('R')))
            {
                recursive = true;
            } else if !end && a.starts_with('-') && !is_mode_like {
                // -c, -f, -v, --reference=…: no effect on what is checked.
            } else if mode.is_none() {
                mode = Some(a);
            } else {
                operands.push(*a);
            }
        }
        let Some(mode) = mode.filter(|m| world_writable(m)) else {
            return;
        };
        let system = operands.iter().find(|o| is_system_target(o));
        if recursive || system.is_some() {
            let what = match system {
                Some(o) => format!("`{o}`"),
                None => "a whole tree".to_owned(),
            };
            self.hit(
                rule::WORLD_WRITABLE,
                Severity::High,
                format!("`chmod {mode}` makes {what} writable by everyone: `{shown}`"),
            );
        }
    }
}

/// What `echo`/`printf` print, when that is what the stage is.
fn echoed(stage: &Resolved) -> Option<String> {
    let args: Vec<&str> = stage.args.iter().map(|w| w.text.as_str()).collect();
    match stage.name.as_str() {
        "echo" => {
            let start = args
                .iter()
                .take_while(|a| matches!(**a, "-n" | "-e" | "-E" | "-ne" | "-en"))
                .count();
            Some(args[start..].join(" ").replace("\\n", "\n"))
        }
        "printf" => {
            let start = usize::from(args.first() == Some(&"--"));
            let fmt = args.get(start)?;
            let mut out = fmt.replace("\\n", "\n").replace("\\t", "\t");
            if out.contains("%s") {
                out = args[start + 1..].join(" ");
            }
            Some(out)
        }
        _ => None,
    }
}

fn is_base64_decode(stage: &Resolved) -> bool {
    let decodes = stage
        .args
        .iter()
        .any(|w| matches!(w.text.as_str(), "-d" | "--decode" | "-D" | "-di" | "-id"));
    match stage.name.as_str() {
        "base64" | "base32" | "basenc" => decodes,
        "openssl" => {
            stage
                .args
                .first()
                .is_some_and(|w| w.text == "base64" || w.text == "enc")
                && decodes
        }
        _ => false,
    }
}

/// Decodes standard or URL-safe base64 (whitespace ignored, padding optional).
pub fn base64_decode(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut nbits = 0u32;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            '=' => break,
            _ => return None,
        };
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// How an interpreter is invoked: the script given inline (`-c`), if any, and whether
/// it reads its program from standard input.
fn interpreter_args<'a>(name: &str, args: &[&'a str]) -> (Option<&'a str>, bool) {
    let shell = is_shell(name);
    let mut inline = false;
    let mut stdin_flag = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a == "--" || a == "-" {
            break;
        }
        if shell && (a == "-o" || a == "+o" || a == "-O" || a == "+O") {
            i += 2;
            continue;
        }
        if a.starts_with("--") {
            inline |= matches!(a, "--command" | "--eval" | "--print");
            i += 1;
            continue;
        }
        if !(a.starts_with('-') || (shell && a.starts_with('+'))) {
            break;
        }
        let flags = &a[1..];
        if shell {
            inline |= flags.contains('c');
            stdin_flag |= flags.contains('s');
        } else {
            // python -c/-m, perl/ruby -e/-E, node -e/-p, php -r: the program is not stdin.
            inline |= flags.starts_with(['c', 'm', 'e', 'E', 'r', 'p']);
        }
        i += 1;
    }
    let operand = args
        .get(i)
        .map(|a| {
            if *a == "--" {
                args.get(i + 1).copied()
            } else {
                Some(*a)
            }
        })
        .unwrap_or(None);
    if inline {
        return (if shell { operand } else { None }, false);
    }
    let reads = stdin_flag || operand.is_none() || operand == Some("-");
    (None, reads)
}

/// The downloader a script runs, if any (`curl`, `wget`, …).
fn downloads(script: &str) -> Option<String> {
    parse(script)
        .into_iter()
        .flat_map(|p| p.commands)
        .find_map(|c| {
            c.words
                .iter()
                .map(|w| command_name(&w.text))
                .find(|n| DOWNLOADERS.contains(n))
                .map(str::to_owned)
        })
}

/// `/dev/…` other than the harmless ones (`/dev/null`, `/dev/stdout`, …).
fn is_device(path: &str) -> bool {
    let Some(dev) = path.strip_prefix("/dev/") else {
        return false;
    };
    !(matches!(
        dev,
        "null"
            | "zero"
            | "full"
            | "random"
            | "urandom"
            | "stdout"
            | "stderr"
            | "stdin"
            | "tty"
            | "console"
    ) || dev.starts_with("fd/")
        || dev.starts_with("pts/")
        || dev.starts_with("tty")
        || dev.starts_with("shm/"))
}

/// A disk or partition device: `/dev/sda1`, `/dev/nvme0n1`, `/dev/mmcblk0`, ….
fn is_block_device(path: &str) -> bool {
    let Some(dev) = path.strip_prefix("/dev/") else {
        return false;
    };
    [
        "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "disk", "dm-", "md", "mapper/", "root", "rdisk",
        "nbd", "loop",
    ]
    .iter()
    .any(|p| dev.starts_with(p))
}

fn is_history_file(path: &str) -> bool {
    path == "$HISTFILE" || path == "${HISTFILE}" || HISTORY_FILES.contains(&command_name(path))
}

/// Normalises a path as the shell and the kernel would see it, lexically: `//` and
/// `/./` collapse, `..` is resolved in absolute paths, `${HOME}` is `$HOME`, trailing
/// slashes go.
pub fn normalize(path: &str) -> String {
    let mut s = path.replace("${HOME}", "$HOME");
    while s.contains("//") {
        s = s.replace("//", "/");
    }
    if s.starts_with('/') {
        let mut parts: Vec<&str> = Vec::new();
        for seg in s.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                seg => parts.push(seg),
            }
        }
        return format!("/{}", parts.join("/"));
    }
    while s.contains("/./") {
        s = s.replace("/./", "/");
    }
    while let Some(rest) = s.strip_prefix("./").filter(|r| !r.is_empty()) {
        s = rest.to_owned();
    }
    if let Some(stripped) = s.strip_suffix("/.") {
        s = if stripped.is_empty() {
            ".".into()
        } else {
            stripped.to_owned()
        };
    }
    while s.len() > 1 && s.ends_with('/') {
        s.pop();
    }
    s
}

/// What a recursive delete of `path` would destroy, when that is a disaster.
pub fn dangerous_target(path: &str) -> Option<&'static str> {
    let s = normalize(path);
    let what = match s.as_str() {
        "/" => "the root directory",
        "/*" | "/.*" => "everything under",
        "~" | "$HOME" => "the home directory",
        "~/*" | "$HOME/*" | "~/.*" | "$HOME/.*" => "everything in the home directory",
        "*" | "." | ".*" => "everything in the current directory",
        ".." | "../*" => "the parent directory",
        _ if s.starts_with('~') && !s.contains('/') => "a user's home directory",
        _ => return is_system_target(&s).then_some("a system directory"),
    };
    Some(what)
}

/// `/`, `/*`, a top-level system directory (`/etc`, `/usr/*`) or a top-level glob
/// (`/e*`).
fn is_system_target(path: &str) -> bool {
    let s = normalize(path);
    if s == "/" || s == "/*" {
        return true;
    }
    let Some(rest) = s.strip_prefix('/') else {
        return false;
    };
    let top = rest.strip_suffix("/*").unwrap_or(rest);
    !top.contains('/') && (SYSTEM_DIRS.contains(&top) || top.contains(['*', '?', '[']))
}

/// `$DIR/` or `${DIR}/*`: becomes `/` or `/*` when the variable is empty (the
/// `${DIR:?}` form, which aborts instead, is fine).
fn empty_variable_prefix(path: &str) -> Option<String> {
    let rest = path.strip_prefix('$')?;
    let (var, tail) = if let Some(braced) = rest.strip_prefix('{') {
        let (inner, tail) = braced.split_once('}')?;
        if inner.contains(":?") {
            return None;
        }
        (inner.to_owned(), tail)
    } else {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (rest[..end].to_owned(), &rest[end..])
    };
    if var.is_empty() || var == "HOME" {
        return None;
    }
    matches!(tail, "/" | "/*" | "/.*").then_some(var)
}

/// Octal modes with the others-write bit, or symbolic modes granting `w` to `o`/`a`.
fn world_writable(mode: &str) -> bool {
    if !mode.is_empty() && mode.len() <= 4 && mode.chars().all(|c| c.is_digit(8)) {
        return u32::from_str_radix(mode, 8).is_ok_and(|m| m & 0o002 != 0);
    }
    mode.split(',').any(|clause| {
        let Some(op) = clause.find(['+', '=']) else {
            return false;
        };
        let (who, perms) = clause.split_at(op);
        (who.contains('a') || who.contains('o')) && perms.contains('w')
    })
}

/// How many function definitions per script the fork-bomb check looks at.
const MAX_FUNCTIONS: usize = 64;
/// How far into a function's body it looks, in characters.
const MAX_BODY: usize = 4096;

/// Finds a fork bomb: a function that calls itself twice, piped or in the
/// background (`:(){ :|:& };:`, `bomb(){ bomb|bomb & }; bomb`,
/// `function f { f & f & }`), or perl's `fork while fork`.
pub fn fork_bomb(script: &str) -> Option<String> {
    let squeezed: String = script.chars().filter(|c| !c.is_whitespace()).collect();
    if squeezed.contains("forkwhilefork") {
        return Some("fork".to_owned());
    }
    let mut candidates: Vec<(String, usize)> = Vec::new();
    // `name(){ body }`
    let mut from = 0;
    while let Some(at) = squeezed[from..]
        .find("(){")
        .filter(|_| candidates.len() < MAX_FUNCTIONS)
    {
        let open = from + at + 2;
        let name_start = squeezed[..from + at]
            .rfind(|c: char| {
                matches!(
                    c,
                    ';' | '&' | '|' | '(' | ')' | '{' | '}' | '`' | '\'' | '"'
                )
            })
            .map_or(0, |p| p + 1);
        let name = squeezed[name_start..from + at].trim_start_matches("function");
        if !name.is_empty() {
            candidates.push((name.to_owned(), open));
        }
        from = open + 1;
    }
    // `function name { body }`
    let words: Vec<&str> = script.split_whitespace().collect();
    for w in words.windows(2) {
        if w[0] == "function" && candidates.len() < 2 * MAX_FUNCTIONS {
            let name = w[1].trim_end_matches("()").trim_end_matches('{');
            if !name.is_empty()
                && let Some(at) = squeezed.find(&format!("function{name}"))
                && let Some(open) = squeezed[at..].find('{')
            {
                candidates.push((name.to_owned(), at + open));
            }
        }
    }
    for (name, open) in candidates.into_iter().take(MAX_FUNCTIONS) {
        let body_start = open + 1;
        let mut depth = 1usize;
        let mut end = squeezed.len();
        for (i, c) in squeezed[body_start..].char_indices().take(MAX_BODY) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = body_start + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let body = &squeezed[body_start.min(end)..end];
        let piped = format!("{name}|{name}");
        let twice_in_background = format!("{name}&{name}&");
        if (body.contains(&piped) && body.contains('&')) || body.contains(&twice_in_background) {
            return Some(name);
        }
    }
    None
}
