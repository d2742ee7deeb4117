//! `lampart plugin new`: a new plugin project that builds and passes its own tests as made.
//!
//! The project is self-contained: it carries the SDK of this Lampart and the contract
//! (`wit/`) it was built against, so it builds offline, outside this repository, and keeps
//! building the same when Lampart moves on.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

/// The language of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, with the `lampart-sdk` crate.
    Rust,
    /// JavaScript, built with componentize-js.
    Js,
    /// Python, built with componentize-py.
    Python,
}

/// The world of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PluginKind {
    /// A policy: decides allow, deny, require scopes or abstain.
    Policy,
    /// An inspector: reports findings, labels and redactions.
    Inspector,
}

impl PluginKind {
    fn as_str(self) -> &'static str {
        match self {
            PluginKind::Policy => "policy",
            PluginKind::Inspector => "inspector",
        }
    }
}

/// Arguments of `lampart plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name: lower-case letters, digits and `-`, starting with a letter.
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
    /// A policy or an inspector.
    #[arg(long, value_enum, default_value_t = PluginKind::Policy)]
    kind: PluginKind,
    /// The directory to create (default: the name, in the current directory); it must not
    /// exist, or be empty.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The contract the SDKs are built against, as in `wit/plugin.wit`.
const CONTRACT: &str = "0.2.0";

/// One file of a template: where it goes in the project, and its text.
type File = (&'static str, &'static str);

/// The Rust SDK, as this Lampart was built with it.
const RUST_SDK: &[File] = &[
    (
        "vendor/lampart-sdk/README.md",
        include_str!("../../../../sdk/README.md"),
    ),
    (
        "vendor/lampart-sdk/src/bindings.rs",
        include_str!("../../../../sdk/src/bindings.rs"),
    ),
    (
        "vendor/lampart-sdk/src/builders.rs",
        include_str!("../../../../sdk/src/builders.rs"),
    ),
    (
        "vendor/lampart-sdk/src/glob.rs",
        include_str!("../../../../sdk/src/glob.rs"),
    ),
    (
        "vendor/lampart-sdk/src/host.rs",
        include_str!("../../../../sdk/src/host.rs"),
    ),
    (
        "vendor/lampart-sdk/src/input.rs",
        include_str!("../../../../sdk/src/input.rs"),
    ),
    (
        "vendor/lampart-sdk/src/json.rs",
        include_str!("../../../../sdk/src/json.rs"),
    ),
    (
        "vendor/lampart-sdk/src/lib.rs",
        include_str!("../../../../sdk/src/lib.rs"),
    ),
    (
        "vendor/lampart-sdk/src/log.rs",
        include_str!("../../../../sdk/src/log.rs"),
    ),
    (
        "vendor/lampart-sdk/src/settings.rs",
        include_str!("../../../../sdk/src/settings.rs"),
    ),
    (
        "vendor/lampart-sdk/src/testing.rs",
        include_str!("../../../../sdk/src/testing.rs"),
    ),
];

/// The SDK crate's manifest outside this workspace: the versions this workspace builds with.
const RUST_SDK_MANIFEST: &str = r#"[package]
name = "lampart-sdk"
version = "{{version}}"
edition = "2024"
publish = false
description = "Write Lampart plugins (policies and inspectors) in Rust."

[dependencies]
wit-bindgen = "=0.61.1"
serde = { version = "1", features = ["derive"] }
serde_json = { version = "1", features = ["float_roundtrip"] }
"#;

const RUST_TEMPLATE: &[File] = &[
    (
        "Cargo.toml",
        include_str!("../../../../templates/rust/Cargo.toml.in"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../../../../templates/rust/cargo-config.toml.in"),
    ),
    (
        ".gitignore",
        include_str!("../../../../templates/rust/gitignore.in"),
    ),
    (
        "README.md",
        include_str!("../../../../templates/rust/README.md.in"),
    ),
];

const RUST_POLICY: &str = include_str!("../../../../templates/rust/policy.rs.in");
const RUST_INSPECTOR: &str = include_str!("../../../../templates/rust/inspector.rs.in");

/// The JavaScript SDK, as this Lampart ships it (`sdk/js/`).
const JS_SDK: &[File] = &[
    (
        "lampart/README.md",
        include_str!("../../../../sdk/js/README.md"),
    ),
    (
        "lampart/lampart-sdk.js",
        include_str!("../../../../sdk/js/lampart-sdk.js"),
    ),
    (
        "lampart/lampart-sdk.d.ts",
        include_str!("../../../../sdk/js/lampart-sdk.d.ts"),
    ),
    (
        "lampart/host.js",
        include_str!("../../../../sdk/js/host.js"),
    ),
    (
        "lampart/testing.js",
        include_str!("../../../../sdk/js/testing.js"),
    ),
    (
        "lampart/testing.d.ts",
        include_str!("../../../../sdk/js/testing.d.ts"),
    ),
];

const JS_TEMPLATE: &[File] = &[
    (
        "package.json",
        include_str!("../../../../templates/js/package.json.in"),
    ),
    (
        ".gitignore",
        include_str!("../../../../templates/js/gitignore.in"),
    ),
    (
        "README.md",
        include_str!("../../../../templates/js/README.md.in"),
    ),
];

/// The Python SDK, as this Lampart ships it (`sdk/python/`).
const PYTHON_SDK: &[File] = &[
    (
        "lampart_sdk/README.md",
        include_str!("../../../../sdk/python/README.md"),
    ),
    (
        "lampart_sdk/__init__.py",
        include_str!("../../../../sdk/python/lampart_sdk/__init__.py"),
    ),
    (
        "lampart_sdk/_native.py",
        include_str!("../../../../sdk/python/lampart_sdk/_native.py"),
    ),
    (
        "lampart_sdk/_wit.py",
        include_str!("../../../../sdk/python/lampart_sdk/_wit.py"),
    ),
    (
        "lampart_sdk/config.py",
        include_str!("../../../../sdk/python/lampart_sdk/config.py"),
    ),
    (
        "lampart_sdk/export.py",
        include_str!("../../../../sdk/python/lampart_sdk/export.py"),
    ),
    (
        "lampart_sdk/glob.py",
        include_str!("../../../../sdk/python/lampart_sdk/glob.py"),
    ),
    (
        "lampart_sdk/input.py",
        include_str!("../../../../sdk/python/lampart_sdk/input.py"),
    ),
    (
        "lampart_sdk/log.py",
        include_str!("../../../../sdk/python/lampart_sdk/log.py"),
    ),
    (
        "lampart_sdk/model.py",
        include_str!("../../../../sdk/python/lampart_sdk/model.py"),
    ),
    (
        "lampart_sdk/pointer.py",
        include_str!("../../../../sdk/python/lampart_sdk/pointer.py"),
    ),
    (
        "lampart_sdk/py.typed",
        include_str!("../../../../sdk/python/lampart_sdk/py.typed"),
    ),
    (
        "lampart_sdk/testing.py",
        include_str!("../../../../sdk/python/lampart_sdk/testing.py"),
    ),
];

const PYTHON_TEMPLATE: &[File] = &[
    (
        ".gitignore",
        include_str!("../../../../templates/python/gitignore.in"),
    ),
    (
        "README.md",
        include_str!("../../../../templates/python/README.md.in"),
    ),
];

/// The contract, for every language.
const WIT: &str = include_str!("../../../../wit/plugin.wit");

/// Makes the project; prints where, and how to build and test it.
pub fn run(args: NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    if let Some(clash) = clash(args.lang, &args.name) {
        bail!("plugin name `{}`: {clash}; choose another", args.name);
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let files = files(&args);
    let vars = [
        ("{{name}}", args.name.as_str()),
        ("{{crate}}", &args.name.replace('-', "_")),
        ("{{module}}", &args.name.replace('-', "_")),
        ("{{kind}}", args.kind.as_str()),
        ("{{contract}}", CONTRACT),
        ("{{version}}", env!("CARGO_PKG_VERSION")),
    ];
    create_empty_dir(&dir)?;
    for (path, text) in &files {
        let text = vars
            .iter()
            .fold(text.to_string(), |t, (k, v)| t.replace(k, v));
        write(&dir.join(path), &text)?;
    }
    println!(
        "created {} {} `{}` in {}",
        lang_name(args.lang),
        args.kind.as_str(),
        args.name,
        dir.display()
    );
    let next = match args.lang {
        Lang::Rust => "cargo test && cargo build --profile plugin --target wasm32-wasip2",
        Lang::Js => "npm install && npm test && npm run build",
        Lang::Python => "python3 -m unittest  # then build it as its README.md says",
    };
    println!("  cd {} && {next}", dir.display());
    Ok(())
}

fn lang_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "Rust",
        Lang::Js => "JavaScript",
        Lang::Python => "Python",
    }
}

/// Every file of the project, before its variables are filled in.
fn files(args: &NewArgs) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |path: &str, text: &str| out.push((path.to_owned(), text.to_owned()));
    match args.lang {
        Lang::Rust => {
            for (path, text) in RUST_TEMPLATE {
                add(path, text);
            }
            add(
                "src/lib.rs",
                match args.kind {
                    PluginKind::Policy => RUST_POLICY,
                    PluginKind::Inspector => RUST_INSPECTOR,
                },
            );
            for (path, text) in RUST_SDK {
                // The bindings read the contract from the project's own `wit/`.
                add(
                    path,
                    &text.replace("\"../wit/plugin.wit\"", "\"../../wit/plugin.wit\""),
                );
            }
            add("vendor/lampart-sdk/Cargo.toml", RUST_SDK_MANIFEST);
            add("wit/plugin.wit", WIT);
        }
        Lang::Js => {
            for (path, text) in JS_TEMPLATE.iter().chain(JS_SDK) {
                add(path, text);
            }
            let (code, test, entry) = match args.kind {
                PluginKind::Policy => (
                    include_str!("../../../../templates/js/policy.js.in"),
                    include_str!("../../../../templates/js/policy.test.js.in"),
                    include_str!("../../../../templates/js/policy-component.js.in"),
                ),
                PluginKind::Inspector => (
                    include_str!("../../../../templates/js/inspector.js.in"),
                    include_str!("../../../../templates/js/inspector.test.js.in"),
                    include_str!("../../../../templates/js/inspector-component.js.in"),
                ),
            };
            add(&format!("{}.js", args.name), code);
            add(&format!("{}.test.js", args.name), test);
            add("component.js", entry);
            add("wit/plugin.wit", WIT);
        }
        Lang::Python => {
            for (path, text) in PYTHON_TEMPLATE.iter().chain(PYTHON_SDK) {
                add(path, text);
            }
            let (code, test) = match args.kind {
                PluginKind::Policy => (
                    include_str!("../../../../templates/python/policy.py.in"),
                    include_str!("../../../../templates/python/test_policy.py.in"),
                ),
                PluginKind::Inspector => (
                    include_str!("../../../../templates/python/inspector.py.in"),
                    include_str!("../../../../templates/python/test_inspector.py.in"),
                ),
            };
            let module = args.name.replace('-', "_");
            add(&format!("{module}.py"), code);
            add(&format!("test_{module}.py"), test);
            add("wit/plugin.wit", WIT);
        }
    }
    out
}

/// A name that is a valid package name in every language's tooling and a safe rule-id
/// prefix.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !ok {
        bail!(
            "plugin name `{}`: use lower-case letters, digits and `-`, starting with a letter (at most 64 characters)",
            lampart::text::escape(name)
        );
    }
    Ok(())
}

/// Why a valid name would still break a project in `lang`, if it would.
fn clash(lang: Lang, name: &str) -> Option<&'static str> {
    let module = name.replace('-', "_");
    match lang {
        Lang::Rust if RUST_RESERVED.contains(&module.as_str()) => {
            Some("a Rust keyword or a crate every plugin depends on")
        }
        Lang::Python if module == "wit_world" => {
            Some("its module would shadow the bindings componentize-py generates (`wit_world`)")
        }
        Lang::Python if PYTHON_RESERVED.contains(&module.as_str()) => {
            Some("a Python keyword, the SDK, or a standard module the SDK or the tests import")
        }
        Lang::Js if matches!(name, "component" | "lampart") => {
            Some("the component's entry file and the SDK's folder have that name")
        }
        _ => None,
    }
}

/// Names a Rust plugin cannot take: keywords, and the crates it builds with.
const RUST_RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "yield",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "core",
    "std",
    "alloc",
    "test",
    "proc_macro",
    "lampart_sdk",
    "serde",
    "serde_json",
    "wit_bindgen",
];

/// Names a Python plugin cannot take: keywords, the SDK, and standard modules that the SDK,
/// componentize-py or the tests import.
const PYTHON_RESERVED: &[&str] = &[
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "false",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "none",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "true",
    "try",
    "while",
    "with",
    "yield",
    "lampart_sdk",
    "abc",
    "collections",
    "dataclasses",
    "enum",
    "functools",
    "io",
    "itertools",
    "json",
    "linecache",
    "math",
    "os",
    "re",
    "string",
    "sys",
    "test",
    "traceback",
    "types",
    "typing",
    "unittest",
    "poll_loop",
    "componentize_py_types",
];

fn create_empty_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "directory {}: exists and is not empty; choose another with --dir",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .with_context(|| format!("directory {}: cannot create it", dir.display())),
        Err(e) => Err(e).with_context(|| format!("directory {}", dir.display())),
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("directory {}: cannot create it", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("file {}: cannot write it", path.display()))
}
