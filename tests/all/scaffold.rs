//! `lampart plugin new`: what it writes, and what it refuses. That each template builds and
//! passes its own tests is checked by `examples/check-templates.sh`, which needs the Python
//! and JavaScript build tools.

use crate::support::{lampart, stderr, stdout};

fn new_project(args: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("project");
    let mut all = vec!["plugin", "new"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--dir", target.to_str().unwrap()]);
    let out = lampart(&all, None);
    (dir, out)
}

#[test]
fn a_rust_project_carries_the_sdk_and_the_contract() {
    let (dir, out) = new_project(&["my-guard", "--kind", "inspector"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("created Rust inspector `my-guard`"));
    let root = dir.path().join("project");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    assert!(read("Cargo.toml").contains("name = \"my-guard\""));
    assert!(read("src/lib.rs").contains("\"my-guard.word\""));
    assert!(
        !read("src/lib.rs").contains("{{"),
        "every variable is filled in"
    );
    // The vendored bindings read the project's own copy of the contract.
    assert!(read("vendor/lampart-sdk/src/bindings.rs").contains("\"../../wit/plugin.wit\""));
    assert_eq!(
        read("wit/plugin.wit"),
        std::fs::read_to_string(crate::support::workspace().join("wit/plugin.wit")).unwrap()
    );
}

#[test]
fn python_and_javascript_projects() {
    let (dir, out) = new_project(&["my-policy", "--lang", "python"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let root = dir.path().join("project");
    assert!(root.join("my_policy.py").is_file());
    assert!(root.join("test_my_policy.py").is_file());
    assert!(root.join("lampart_sdk/__init__.py").is_file());
    let (dir, out) = new_project(&["my-policy", "--lang", "js", "--kind", "inspector"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let root = dir.path().join("project");
    let package = std::fs::read_to_string(root.join("package.json")).unwrap();
    assert!(package.contains("--world-name inspector"), "{package}");
    assert!(root.join("lampart/lampart-sdk.js").is_file());
    assert!(
        std::fs::read_to_string(root.join("component.js"))
            .unwrap()
            .contains("export const { describe, inspect }")
    );
}

#[test]
fn bad_names_and_occupied_directories_are_refused() {
    for (args, want) in [
        (
            &["Bad_Name"][..],
            "plugin name `Bad_Name`: use lower-case letters, digits and `-`, starting with a letter",
        ),
        (&["-x"][..], "unexpected argument"),
        (
            &["wit-world", "--lang", "python"][..],
            "plugin name `wit-world`: its module would shadow the bindings",
        ),
        (
            &["json", "--lang", "python"][..],
            "plugin name `json`: a Python keyword",
        ),
        (
            &["component", "--lang", "js"][..],
            "plugin name `component`: the component's entry",
        ),
        (&["fn"][..], "plugin name `fn`: a Rust keyword"),
        (
            &["lampart-sdk"][..],
            "plugin name `lampart-sdk`: a Rust keyword or a crate",
        ),
    ] {
        let (_dir, out) = new_project(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    let (dir, out) = new_project(&["first"]);
    assert!(out.status.success());
    let again = lampart(
        &[
            "plugin",
            "new",
            "second",
            "--dir",
            dir.path().join("project").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists and is not empty"),
        "{}",
        stderr(&again)
    );
    // The first project is untouched.
    assert!(
        std::fs::read_to_string(dir.path().join("project/Cargo.toml"))
            .unwrap()
            .contains("name = \"first\"")
    );
}
