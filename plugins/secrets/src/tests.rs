//! The corpus: every kind found in realistic text, and realistic text with no secret.

use lampart_sdk::serde_json::json;
use lampart_sdk::{Input, MapSettings, Phase, Severity};

use super::*;

fn kinds(text: &str) -> Vec<&'static str> {
    scan(text).into_iter().map(|h| h.kind).collect()
}

/// Each text holds exactly one secret, `secret`, of `kind`.
const POSITIVES: &[(&str, &str, &str)] = &[
    (
        "aws-access-key-id",
        "export AWS_ACCESS_KEY_ID=AKIAQWERTYUIOP234567",
        "AKIAQWERTYUIOP234567",
    ),
    (
        "aws-access-key-id",
        "creds: ASIA5ZX7GHKQ2LMNOP3R in use",
        "ASIA5ZX7GHKQ2LMNOP3R",
    ),
    (
        "aws-secret-access-key",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQWERTYKEYx",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQWERTYKEYx",
    ),
    (
        "azure-storage-key",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYg==;EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYg==",
    ),
    (
        "google-api-key",
        "maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY here",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    ),
    (
        "github-token",
        "token ghp_16C7e42F292c6912E7710c838347Ae178B4a ok",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    (
        "github-token",
        "GITHUB=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
    ),
    (
        "gitlab-token",
        "use glpat-x7Ab9Qz2Lm4Np6Rs8Tu0 for CI",
        "glpat-x7Ab9Qz2Lm4Np6Rs8Tu0",
    ),
    (
        "slack-token",
        "bot: xoxb-2048123456-4096123456789-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-2048123456-4096123456789-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "slack-webhook",
        "post to https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdEFGHijklMNOPqrstUVWX now",
        "hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdEFGHijklMNOPqrstUVWX",
    ),
    (
        "stripe-key",
        "STRIPE_KEY: sk_live_51HxYzAbCdEfGhIjKlMnOpQr",
        "sk_live_51HxYzAbCdEfGhIjKlMnOpQr",
    ),
    (
        "stripe-test-key",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc0",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc0",
    ),
    (
        "openai-key",
        "OPENAI_API_KEY=sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90",
        "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90",
    ),
    (
        "anthropic-key",
        "key sk-ant-api03-Xy9wV8uT7sR6qP5oN4mL3kJ2iH1gF0eD",
        "sk-ant-api03-Xy9wV8uT7sR6qP5oN4mL3kJ2iH1gF0eD",
    ),
    (
        "sendgrid-key",
        "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",
        "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",
    ),
    (
        "twilio-key",
        "sid SK0123456789abcdef0123456789abcdef",
        "SK0123456789abcdef0123456789abcdef",
    ),
    (
        "npm-token",
        "//registry.npmjs.org/:_authToken=npm_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2",
        "npm_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2",
    ),
    (
        "pypi-token",
        "password = pypi-AgEIcHlwaS5vcmcCJGI4YjNhNjE0LTk3YzgtNGE2My1hY2ZjLTVkZjM0YzFkZmQ1NQ",
        "pypi-AgEIcHlwaS5vcmcCJGI4YjNhNjE0LTk3YzgtNGE2My1hY2ZjLTVkZjM0YzFkZmQ1NQ",
    ),
    (
        "huggingface-token",
        "HF hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    ),
    (
        "jwt",
        "Cookie: session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ),
    (
        "url-password",
        "DATABASE_URL=postgres://app:S3cr3t-Pa55@db.internal:5432/app",
        "S3cr3t-Pa55",
    ),
    (
        "url-password",
        "clone https://deploy:hunter2x@git.example.org/repo.git",
        "hunter2x",
    ),
    (
        "bearer-token",
        "Authorization: Bearer 7f3a9c2e1b4d8f6a0c5e9b2d4f1a3c7e",
        "7f3a9c2e1b4d8f6a0c5e9b2d4f1a3c7e",
    ),
    ("generic-secret", "db_password=Tr0ub4dor&3", "Tr0ub4dor"),
    (
        "generic-secret",
        "\"client_secret\": \"9f8e7d6c5b4a3f2e1d0c9b8a\"",
        "9f8e7d6c5b4a3f2e1d0c9b8a",
    ),
    (
        "generic-secret",
        "API_TOKEN: 'q8Zr2Lm5Xv9Tn3Wb7Kd1'",
        "q8Zr2Lm5Xv9Tn3Wb7Kd1",
    ),
];

#[test]
fn every_kind_is_found_with_its_exact_extent() {
    for (kind, text, secret) in POSITIVES {
        let hits = scan(text);
        assert_eq!(hits.len(), 1, "{text}: {hits:?}");
        assert_eq!(hits[0].kind, *kind, "{text}");
        assert_eq!(&text[hits[0].start..hits[0].end], *secret, "{text}");
    }
    let covered: BTreeSet<&str> = POSITIVES.iter().map(|(k, _, _)| *k).collect();
    for (kind, _, _) in KINDS {
        assert!(
            covered.contains(kind) || *kind == "private-key",
            "no corpus entry for `{kind}`"
        );
    }
}

#[test]
fn private_keys_are_found_as_whole_blocks() {
    for label in [
        "RSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ] {
        let block =
            format!("-----BEGIN {label}-----\nMIIEowIBAAKCAQEA7bq\nx9Vw==\n-----END {label}-----");
        let text = format!("here is the key:\n{block}\nthanks");
        let hits = scan(&text);
        assert_eq!(hits.len(), 1, "{label}");
        assert_eq!(hits[0].kind, "private-key");
        assert_eq!(&text[hits[0].start..hits[0].end], block);
    }
    // Cut short: to the end of the string.
    let text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA";
    assert_eq!(scan(text)[0].end, text.len());
    // Public keys and certificates are not secrets.
    assert!(
        scan("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----").is_empty()
    );
    assert!(scan("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_empty());
}

/// Realistic text with no secret in it.
const NEGATIVES: &[&str] = &[
    "Your meeting with Dana is at 3pm; the password reset link expires in 24 hours.",
    "commit 3f9a1c2e7b4d8f6a0c5e9b2d4f1a3c7e9b2d4f1a fixed the token refresh",
    "request id 550e8400-e29b-41d4-a716-446655440000 completed",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "max_tokens: 4096, token_type: bearer, tokenizer: cl100k_base",
    "password: ********",
    "password=<your password>",
    "api_key: ${OPENAI_API_KEY}",
    "API_KEY=your-api-key-here",
    "secret = \"changeme\"",
    "password: [REDACTED]",
    "https://example.com/path?user=alice&page=2",
    "https://alice@example.com/repo.git",
    "ssh git@github.com:org/repo.git",
    "The AKIA prefix marks AWS access keys; never paste them.",
    "sk-learn and sk-image are Python packages",
    "Bearer tokens expire after an hour; refresh them.",
    "-----BEGIN PUBLIC KEY----- is how a public key starts",
    "Invoice INV-2024-00042: total 1,250.00 EUR, IBAN on file.",
    "Transfer reference SKU-8841-AB, tracking 1Z999AA10123456784",
    "the secret to good bread is time",
    "my password is long and has words in it",
    "The token is stored in the keychain.",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "eyJ is how base64 of a JSON object starts",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    "password_hint: first pet's name",
    "pwd: /home/alice/projects",
    "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
];

#[test]
fn benign_text_gives_nothing() {
    for text in NEGATIVES {
        assert!(kinds(text).is_empty(), "{text}: {:?}", scan(text));
    }
}

fn request(args: lampart_sdk::serde_json::Value) -> Input {
    Input::builder("send_email").args(args).build()
}

fn config(settings: MapSettings) -> Config {
    Config::read(&settings).unwrap()
}

#[test]
fn arguments_are_redacted_in_place_and_findings_do_not_repeat_the_secret() {
    let input = request(json!({
        "to": "ops@example.com",
        "body": "deploy with AKIAQWERTYUIOP234567 and ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "config": {"password": "Sup3r-S3cure!", "user": "admin"},
    }));
    let out = inspect_with(&config(MapSettings::new()), &input);
    let rules: Vec<&str> = out.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "secrets.aws-access-key-id",
            "secrets.github-token",
            "secrets.generic-secret"
        ]
    );
    assert_eq!(out.findings[0].location.as_deref(), Some("/body"));
    assert_eq!(
        out.findings[2].location.as_deref(),
        Some("/config/password")
    );
    // Redacted, so no longer critical: the email goes, without the secrets.
    assert_eq!(out.findings[0].severity, Severity::Medium);
    let unredacted = inspect_with(&config(MapSettings::new().with("redact", "false")), &input);
    assert_eq!(unredacted.findings[0].severity, Severity::Critical);
    assert!(unredacted.redactions.is_empty());
    for finding in &out.findings {
        assert!(!finding.message.contains("AKIA") && !finding.message.contains("Sup3r"));
    }
    assert_eq!(
        out.redactions,
        [
            Redaction::text(
                "/body",
                "AKIAQWERTYUIOP234567",
                "[REDACTED:aws-access-key-id]"
            ),
            Redaction::text(
                "/body",
                "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                "[REDACTED:github-token]"
            ),
            Redaction::whole("/config/password", "[REDACTED:generic-secret]"),
        ]
    );
    // No label in the request phase: the agent wrote it.
    assert!(out.labels.is_empty());
}

#[test]
fn tool_answers_are_redacted_and_label_the_session() {
    let text = "Here is your .env:\nSTRIPE=sk_live_51HxYzAbCdEfGhIjKlMnOpQr\n";
    let input = Input::builder("fs.read")
        .phase(Phase::Response)
        .output_text(text)
        .build();
    let out = inspect_with(&config(MapSettings::new()), &input);
    assert_eq!(out.findings.len(), 1);
    assert_eq!(out.findings[0].location.as_deref(), Some(""));
    assert_eq!(out.labels, ["secret-seen"]);
    let input = Input::builder("http.get")
        .phase(Phase::Response)
        .output_json(json!({"items": [{"token": "xoxb-2048123456-4096123456789-AbCdEfGhIjKl"}]}))
        .build();
    let out = inspect_with(&config(MapSettings::new().with("label", "")), &input);
    assert_eq!(out.findings[0].location.as_deref(), Some("/items/0/token"));
    assert_eq!(
        out.redactions,
        [Redaction::whole("/items/0/token", "[REDACTED:slack-token]")]
    );
    assert!(out.labels.is_empty());
}

#[test]
fn settings_narrow_and_are_checked() {
    let input =
        request(json!({"a": "sk_test_4eC39HqLyjWDarjtT1zdp7dc0", "b": "AKIAQWERTYUIOP234567"}));
    let out = inspect_with(
        &config(
            MapSettings::new()
                .with("ignore", r#"["stripe-test-key"]"#)
                .with("redact", "false"),
        ),
        &input,
    );
    assert_eq!(out.findings.len(), 1);
    assert!(out.redactions.is_empty());
    let out = inspect_with(
        &config(MapSettings::new().with("fields", r#"["/a"]"#)),
        &input,
    );
    assert_eq!(out.findings[0].rule, "secrets.stripe-test-key");
    assert_eq!(out.findings.len(), 1);
    for (key, value, message) in [
        ("ignore", r#"["nope"]"#, "unknown kind `nope`"),
        ("fields", r#"["a"]"#, "`a` is not a JSON pointer"),
        ("redact", "maybe", "expected true or false"),
        ("redacted-severity", "severe", "`severe` is not one of"),
        ("colour", "red", "unknown setting"),
    ] {
        let err = Config::read(&MapSettings::new().with(key, value)).unwrap_err();
        assert!(err.contains(message), "{key}: {err}");
    }
}

#[test]
fn entropy_and_names_behave() {
    assert!(scan::entropy(b"aaaaaaaa") < 0.1);
    assert!(scan::entropy(b"q8Zr2Lm5Xv9Tn3Wb") > 3.5);
    for name in [
        "password",
        "DB_PASSWORD",
        "x-api-key",
        "clientSecret",
        "GITHUB_TOKEN",
    ] {
        assert!(scan::secret_name(name), "{name}");
    }
    for name in [
        "max_tokens",
        "token_type",
        "password_hint",
        "pwd",
        "secret_name",
        "username",
    ] {
        assert!(!scan::secret_name(name), "{name}");
    }
}

#[test]
fn any_text_scans_without_panicking_and_hits_fall_on_char_boundaries() {
    // Pieces that start or break shapes, joined in many orders (a fixed-seed generator).
    let pieces = [
        "AKIA",
        "ghp_",
        "sk-",
        "sk-ant-",
        "SG.",
        "eyJ",
        ".eyJ",
        "-----BEGIN ",
        "PRIVATE KEY-----",
        "-----END ",
        "://",
        ":",
        "@",
        "=",
        "\"",
        "'",
        " ",
        "\n",
        "password",
        "token",
        "Bearer ",
        "AccountKey=",
        "é",
        "日本",
        "🔑",
        "x",
        "0",
        "Zz9",
        "hooks.slack.com/services/",
        "==",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..(state % 24) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            if state.is_multiple_of(3) {
                text.push_str("q8Zr2Lm5Xv9Tn3Wb7Kd1aB3cD4eF5gH6iJ7kL8mN9");
            }
        }
        let mut last = 0;
        for hit in scan(&text) {
            assert!(
                hit.start >= last && hit.start <= hit.end,
                "{text:?}: {hit:?}"
            );
            assert!(text.is_char_boundary(hit.start) && text.is_char_boundary(hit.end));
            last = hit.end;
        }
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
    }
}

#[test]
fn long_runs_of_a_token_alphabet_are_read_once() {
    // Each of these starts a candidate at every few bytes; read naively, each start would scan
    // the rest of the run. The scanner takes a token only where its run starts.
    for piece in ["eyJ_", "a.", "x-", "AKIA_", "http.", "password."] {
        let text = piece.repeat(50_000);
        let _ = scan(&text);
    }
    // A token inside a longer run is not a token.
    assert!(scan("prefix_AKIAQWERTYUIOP234567").is_empty());
}
