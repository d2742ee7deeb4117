//! The principal comes from the credential: unauthenticated requests decide nothing, an agent
//! cannot act as another, operator routes need an operator.

use serde_json::json;

use super::harness::{Server, audit_records, config, taint_chain};

fn send(agent: Option<&str>) -> serde_json::Value {
    let mut body = json!({"action": {"tool": "send_email", "args": {"to": "x@corp.example"}}});
    if let Some(agent) = agent {
        body["principal"] = json!({ "agent": agent });
    }
    body
}

#[test]
fn unauthenticated_requests_are_refused_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &config(dir.path(), &taint_chain(), ""));
    let answer = server.decide(None, &send(None));
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.json()["code"], "unauthenticated");
    assert!(answer.header("www-authenticate").is_some());
    let wrong = server.call(
        "POST",
        "/v1/decide",
        &[
            ("content-type".into(), "application/json".into()),
            (
                "authorization".into(),
                "Bearer lpk_not-a-key-anyone-has-00000000000000000000".into(),
            ),
        ],
        &send(None).to_string(),
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(
        !wrong.body.contains("not-a-key"),
        "the credential is not echoed: {}",
        wrong.body
    );
    assert_eq!(server.stop().code(), Some(0));
    assert_eq!(audit_records(&dir.path().join("audit")), 0);
}

#[test]
fn the_principal_comes_from_the_credential() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &config(dir.path(), &taint_chain(), ""));
    // No principal in the body: the credential's agent and roles are used.
    let answer = server.decide(Some("alice"), &send(None));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["verdict"], "allow");
    // The same agent named again is fine.
    assert_eq!(
        server.decide(Some("alice"), &send(Some("alice"))).status,
        200
    );
    // Another agent is refused.
    let answer = server.decide(Some("alice"), &send(Some("bob")));
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.json()["error"].as_str().unwrap().contains("bob"));
    // Roles and grants cannot be claimed.
    let mut claimed = send(None);
    claimed["principal"] = json!({"agent": "bob", "roles": ["finance"]});
    assert_eq!(server.decide(Some("bob"), &claimed).status, 403);
    let mut granted = send(None);
    granted["grants"] = json!(["email:external"]);
    let answer = server.decide(Some("alice"), &granted);
    assert_eq!(answer.status, 403, "{}", answer.body);
    // An operator credential names no agent: it cannot ask for decisions...
    assert_eq!(server.decide(Some("operator"), &send(None)).status, 403);
    // ...and agents cannot use operator routes.
    let answer = server.call(
        "POST",
        "/v1/admin/reload",
        &[super::harness::bearer("alice")],
        "",
    );
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(server.stop().code(), Some(0));

    // Two decisions were made, and the records name the credential that spoke for the agent.
    let records = super::harness::audit_log(&dir.path().join("audit"));
    assert_eq!(records.len(), 2, "{records:#?}");
    for record in &records {
        assert_eq!(record["principal"]["agent"], "alice");
        assert_eq!(record["principal"]["roles"], json!(["finance"]));
        assert!(
            record["credential"].as_str().unwrap().contains("alice-1"),
            "{record}"
        );
    }
}

#[test]
fn a_config_without_credentials_serves_health_and_metrics_and_decides_for_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[state]\ndir = {}\n",
        taint_chain(),
        crate::support::toml_path(&dir.path().join("state"))
    );
    let server = Server::start(dir.path(), &text);
    assert_eq!(server.call("GET", "/healthz", &[], "").status, 200);
    let metrics = server.call("GET", "/metrics", &[], "");
    assert_eq!(metrics.status, 200);
    assert_eq!(server.decide(Some("alice"), &send(None)).status, 401);
    assert_eq!(server.decide(None, &send(None)).status, 401);
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn agents_authenticate_with_jwts() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hs.key");
    std::fs::write(&secret, b"a shared secret of enough length, 32+ bytes").unwrap();
    // A shared secret must be private to its owner.
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let jwt = "[[auth.jwt]]\nissuer = \"https://idp.test\"\naudience = \"lampart\"\nsecret-file = \"hs.key\"\nalgorithms = [\"HS256\"]\n";
    let text = format!("{}\n{jwt}", config(dir.path(), &taint_chain(), ""));
    let server = Server::start(dir.path(), &text);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = |iss: &str, exp: u64| {
        encode(
            &Header::default(),
            &json!({"iss": iss, "aud": "lampart", "sub": "carol", "roles": ["finance"], "exp": exp}),
            &EncodingKey::from_secret(b"a shared secret of enough length, 32+ bytes"),
        )
        .unwrap()
    };
    let call = |token: String| {
        server.call(
            "POST",
            "/v1/decide",
            &[
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {token}")),
            ],
            &send(None).to_string(),
        )
    };
    let answer = call(token("https://idp.test", now + 600));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(call(token("https://evil.test", now + 600)).status, 401);
    assert_eq!(call(token("https://idp.test", now - 3600)).status, 401);
    assert_eq!(server.stop().code(), Some(0));
    let records = super::harness::audit_log(&dir.path().join("audit"));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["principal"]["agent"], "carol");
}
