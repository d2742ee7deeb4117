//! Tests of [`Authenticator`]: API keys, keys files, JWTs and the attacks on them.

use std::path::Path;
use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::*;

const RSA_PRIVATE: &[u8] = include_bytes!("testdata/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("testdata/rsa_public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("testdata/ed25519_private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("testdata/ed25519_public.pem");
const SECRET: &[u8] = b"a shared secret of at least thirty-two bytes";
const ISSUER: &str = "https://login.example.com";
const AUDIENCE: &str = "lampart";

/// The time tokens are checked at.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn at(offset: i64) -> i64 {
    1_700_000_000 + offset
}

/// A directory holding a config's files, with the modes the files need.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        let dir = Dir(tempfile::tempdir().unwrap());
        dir.write("secret", SECRET, 0o600);
        dir.write("rsa.pem", RSA_PUBLIC, 0o644);
        dir.write("ed.pem", ED_PUBLIC, 0o644);
        dir
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, bytes: &[u8], mode: u32) {
        let path = self.0.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = mode;
    }

    fn load(&self, toml: &str) -> Result<Authenticator, AuthConfigError> {
        let section: AuthSection = toml::from_str(toml).unwrap();
        Authenticator::load(Some(&section), self.path())
    }
}

fn bearer(credential: &str) -> Vec<u8> {
    format!("Bearer {credential}").into_bytes()
}

fn check(auth: &Authenticator, credential: &str) -> Result<Identity, AuthFailure> {
    auth.authenticate(Some(&bearer(credential)), now())
}

fn key_entry(key: &ApiKey, id: &str, rest: &str) -> String {
    format!(
        "[[key]]\nid = \"{id}\"\nhash = \"{}\"\n{rest}\n",
        key.hash()
    )
}

// API keys.

#[test]
fn a_configured_api_key_is_accepted_as_its_agent() {
    let dir = Dir::new();
    let key = ApiKey::generate().unwrap();
    let auth = dir
        .load(&key_entry(
            &key,
            "billing-bot-1",
            "agent = \"billing-bot\"\nroles = [\"finance\"]",
        ))
        .unwrap();
    assert!(auth.accepts_anyone());
    let identity = check(&auth, key.as_str()).unwrap();
    assert_eq!(
        identity,
        Identity {
            agent: Some("billing-bot".into()),
            roles: vec!["finance".into()],
            operator: false,
            credential: CredentialId::Key("billing-bot-1".into()),
        }
    );
    assert_eq!(identity.credential.to_string(), "billing-bot-1");
    let lower = format!("bearer  {}", key.as_str());
    assert!(auth.authenticate(Some(lower.as_bytes()), now()).is_ok());
}

#[test]
fn an_unknown_api_key_is_refused() {
    let dir = Dir::new();
    let key = ApiKey::generate().unwrap();
    let auth = dir.load(&key_entry(&key, "k", "agent = \"a\"")).unwrap();
    let other = ApiKey::generate().unwrap();
    assert_eq!(check(&auth, other.as_str()), Err(AuthFailure::UnknownKey));
    let err = check(&auth, other.as_str()).unwrap_err().to_string();
    assert!(!err.contains(other.as_str()), "{err}");
}

#[test]
fn a_missing_or_malformed_header_is_refused() {
    let dir = Dir::new();
    let key = ApiKey::generate().unwrap();
    let auth = dir.load(&key_entry(&key, "k", "agent = \"a\"")).unwrap();
    assert_eq!(auth.authenticate(None, now()), Err(AuthFailure::Missing));
    let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES));
    let truncated = &key.as_str()[..key.as_str().len() - 1];
    for header in [
        format!("Basic {}", key.as_str()).into_bytes(),
        b"Bearer".to_vec(),
        b"Bearer ".to_vec(),
        format!("Bearer{}", key.as_str()).into_bytes(),
        bearer(truncated),
        bearer(&format!("{}A", key.as_str())),
        bearer(&format!("{} x", key.as_str())),
        bearer("lpk_"),
        bearer("not-a-key"),
        bearer("a.b"),
        b"Bearer \xff\xfe".to_vec(),
        long.into_bytes(),
    ] {
        assert_eq!(
            auth.authenticate(Some(&header), now()),
            Err(AuthFailure::Malformed),
            "{}",
            String::from_utf8_lossy(&header)
        );
    }
}

#[test]
fn an_operator_key_needs_no_agent_but_a_key_needs_one_or_the_other() {
    let dir = Dir::new();
    let operator = ApiKey::generate().unwrap();
    let agent = ApiKey::generate().unwrap();
    let toml = key_entry(&operator, "ops", "operator = true")
        + &key_entry(&agent, "bot", "agent = \"bot\"\noperator = true");
    let auth = dir.load(&toml).unwrap();
    let identity = check(&auth, operator.as_str()).unwrap();
    assert!(identity.operator);
    assert_eq!(identity.agent, None);
    let identity = check(&auth, agent.as_str()).unwrap();
    assert!(identity.operator);
    assert_eq!(identity.agent.as_deref(), Some("bot"));

    let err = dir.load(&key_entry(&agent, "nobody", "")).unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::Key {
                problem: KeyProblem::NoPrincipal,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "[[auth.key]] `nobody`: has neither `agent` nor `operator = true`"
    );
}

#[test]
fn keys_are_read_from_a_keys_file_relative_to_the_config() {
    let dir = Dir::new();
    let in_config = ApiKey::generate().unwrap();
    let in_file = ApiKey::generate().unwrap();
    dir.write(
        "keys.toml",
        key_entry(&in_file, "from-file", "agent = \"filed\"").as_bytes(),
        0o644,
    );
    let toml = format!(
        "keys-file = \"keys.toml\"\n{}",
        key_entry(&in_config, "inline", "agent = \"inline\"")
    );
    let auth = dir.load(&toml).unwrap();
    assert_eq!(
        check(&auth, in_file.as_str()).unwrap().agent.as_deref(),
        Some("filed")
    );
    assert_eq!(
        check(&auth, in_config.as_str()).unwrap().agent.as_deref(),
        Some("inline")
    );
}

#[cfg(unix)]
#[test]
fn a_keys_file_others_may_write_is_refused() {
    let dir = Dir::new();
    let key = ApiKey::generate().unwrap();
    dir.write(
        "keys.toml",
        key_entry(&key, "k", "agent = \"a\"").as_bytes(),
        0o666,
    );
    let err = dir.load("keys-file = \"keys.toml\"").unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::File {
                problem: FileUse::WritableByOthers { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("[auth] keys-file `"), "{err}");
}

#[test]
fn a_bad_keys_file_is_refused_with_its_line() {
    let dir = Dir::new();
    dir.write(
        "keys.toml",
        b"[[key]]\nid = \"k\"\nhash = \"blake3:00\"\n",
        0o644,
    );
    let err = dir.load("keys-file = \"keys.toml\"").unwrap_err();
    assert!(
        matches!(&err, AuthConfigError::KeysFileSyntax { line: Some(3), .. }),
        "{err}"
    );
    dir.write("keys.toml", b"[[key]]\nid = \"k\"\nsecret = 1\n", 0o644);
    let err = dir.load("keys-file = \"keys.toml\"").unwrap_err();
    assert!(err.to_string().contains("secret"), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");
    let err = dir.load("keys-file = \"missing.toml\"").unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::File {
                problem: FileUse::Read(_),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn duplicate_ids_and_hashes_are_refused() {
    let dir = Dir::new();
    let a = ApiKey::generate().unwrap();
    let b = ApiKey::generate().unwrap();
    let err = dir
        .load(&(key_entry(&a, "same", "agent = \"a\"") + &key_entry(&b, "same", "agent = \"b\"")))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::Key {
                problem: KeyProblem::DuplicateId,
                ..
            }
        ),
        "{err}"
    );
    let err = dir
        .load(&(key_entry(&a, "one", "agent = \"a\"") + &key_entry(&a, "two", "agent = \"b\"")))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "[[auth.key]] `two`: has the same hash as key `one`"
    );
    // Across the config and the keys file too.
    dir.write(
        "keys.toml",
        key_entry(&b, "same", "agent = \"b\"").as_bytes(),
        0o644,
    );
    let toml = format!(
        "keys-file = \"keys.toml\"\n{}",
        key_entry(&a, "same", "agent = \"a\"")
    );
    let err = dir.load(&toml).unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::Key {
                problem: KeyProblem::DuplicateId,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn invalid_ids_agents_and_roles_are_refused() {
    let dir = Dir::new();
    let key = ApiKey::generate().unwrap();
    for (rest, id, expected) in [
        ("agent = \"\"", "k", KeyProblem::Agent(NameProblem::Empty)),
        (
            "agent = \"a\\nb\"",
            "k",
            KeyProblem::Agent(NameProblem::Control),
        ),
        (
            "agent = \"a\"\nroles = [\"\"]",
            "k",
            KeyProblem::Role(NameProblem::Empty),
        ),
        ("agent = \"a\"", "a b", KeyProblem::Id),
        ("agent = \"a\"", "", KeyProblem::Id),
    ] {
        let err = dir.load(&key_entry(&key, id, rest)).unwrap_err();
        assert!(
            matches!(&err, AuthConfigError::Key { problem, .. } if *problem == expected),
            "{err}"
        );
    }
    let long = format!("agent = \"{}\"", "x".repeat(MAX_NAME_BYTES + 1));
    assert!(dir.load(&key_entry(&key, "k", &long)).is_err());
}

#[test]
fn nothing_configured_accepts_no_one() {
    let auth = Authenticator::load(None, Path::new(".")).unwrap();
    assert!(!auth.accepts_anyone());
    let key = ApiKey::generate().unwrap();
    assert_eq!(check(&auth, key.as_str()), Err(AuthFailure::UnknownKey));
    let empty = Dir::new().load("").unwrap();
    assert!(!empty.accepts_anyone());
}

#[test]
fn the_authenticator_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Authenticator>();
}

// JWTs.

fn claims(extra: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "billing-bot",
        "exp": at(300), "roles": ["finance"],
    });
    if let (Some(map), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        for (k, v) in extra {
            if v.is_null() {
                map.remove(&k);
            } else {
                map.insert(k, v);
            }
        }
    }
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(SECRET),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
        other => panic!("{other:?}"),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A token with any header and payload, and a signature made with `key` as an HS256 secret.
fn forge(header: &Value, claims: &Value, hmac_key: Option<&[u8]>) -> String {
    let message = format!(
        "{}.{}",
        base64url::encode(header.to_string().as_bytes()),
        base64url::encode(claims.to_string().as_bytes())
    );
    let signature = match hmac_key {
        Some(key) => jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(key),
            Algorithm::HS256,
        )
        .unwrap(),
        None => String::new(),
    };
    format!("{message}.{signature}")
}

fn issuer(source: &str, extra: &str) -> String {
    format!("[[jwt]]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n{source}\n{extra}\n")
}

fn invalid(problem: TokenProblem) -> Result<Identity, AuthFailure> {
    Err(AuthFailure::InvalidToken(problem))
}

#[test]
fn hs256_rs256_and_eddsa_tokens_are_accepted_with_the_right_issuer_and_audience() {
    let dir = Dir::new();
    for (source, alg) in [
        ("secret-file = \"secret\"", Algorithm::HS256),
        ("key-file = \"rsa.pem\"", Algorithm::RS256),
        ("key-file = \"ed.pem\"", Algorithm::EdDSA),
    ] {
        let auth = dir.load(&issuer(source, "")).unwrap();
        assert!(auth.accepts_anyone());
        let identity = check(&auth, &sign(alg, None, &claims(json!({})))).unwrap();
        assert_eq!(
            identity,
            Identity {
                agent: Some("billing-bot".into()),
                roles: vec!["finance".into()],
                operator: false,
                credential: CredentialId::Jwt {
                    issuer: ISSUER.into(),
                    subject: Some("billing-bot".into())
                },
            },
            "{alg:?}"
        );
        assert_eq!(
            identity.credential.to_string(),
            "jwt:https://login.example.com:billing-bot"
        );
        // An audience list holding ours will do.
        let token = sign(alg, None, &claims(json!({"aud": ["other", AUDIENCE]})));
        assert!(check(&auth, &token).is_ok(), "{alg:?}");
    }
}

#[test]
fn a_wrong_issuer_or_audience_is_refused() {
    let dir = Dir::new();
    let auth = dir.load(&issuer("key-file = \"rsa.pem\"", "")).unwrap();
    let token = sign(
        Algorithm::RS256,
        None,
        &claims(json!({"iss": "https://evil.example"})),
    );
    assert_eq!(check(&auth, &token), invalid(TokenProblem::Issuer));
    let token = sign(Algorithm::RS256, None, &claims(json!({"iss": null})));
    assert_eq!(check(&auth, &token), invalid(TokenProblem::Issuer));
    let token = sign(
        Algorithm::RS256,
        None,
        &claims(json!({"aud": "someone-else"})),
    );
    assert_eq!(check(&auth, &token), invalid(TokenProblem::Audience));
    let token = sign(Algorithm::RS256, None, &claims(json!({"aud": null})));
    assert_eq!(
        check(&auth, &token),
        invalid(TokenProblem::MissingClaim("aud".into()))
    );
}

#[test]
fn expiry_and_not_before_are_checked_against_the_given_time_with_the_leeway() {
    let dir = Dir::new();
    let auth = dir
        .load(&issuer("secret-file = \"secret\"", "leeway = \"30s\""))
        .unwrap();
    let token = |extra| sign(Algorithm::HS256, None, &claims(extra));
    assert_eq!(
        check(&auth, &token(json!({"exp": at(-31)}))),
        Err(AuthFailure::Expired)
    );
    assert_eq!(
        check(&auth, &token(json!({"exp": at(-30)}))),
        Err(AuthFailure::Expired)
    );
    assert!(check(&auth, &token(json!({"exp": at(-29)}))).is_ok());
    assert_eq!(
        check(&auth, &token(json!({"nbf": at(31)}))),
        Err(AuthFailure::NotYetValid)
    );
    assert!(check(&auth, &token(json!({"nbf": at(30)}))).is_ok());
    assert!(check(&auth, &token(json!({"nbf": at(-100)}))).is_ok());
    assert_eq!(
        check(&auth, &token(json!({"exp": null}))),
        invalid(TokenProblem::MissingClaim("exp".into()))
    );
    assert_eq!(
        check(&auth, &token(json!({"exp": "tomorrow"}))),
        invalid(TokenProblem::InvalidClaim("exp".into()))
    );
    // The same token, a day later.
    let fresh = token(json!({}));
    assert_eq!(
        auth.authenticate(Some(&bearer(&fresh)), now() + Duration::from_secs(86_400)),
        Err(AuthFailure::Expired)
    );
    let strict = dir
        .load(&issuer("secret-file = \"secret\"", "leeway = \"0s\""))
        .unwrap();
    assert_eq!(
        check(&strict, &token(json!({"exp": at(0)}))),
        Err(AuthFailure::Expired)
    );
    assert!(check(&strict, &token(json!({"exp": at(1)}))).is_ok());
}

#[test]
fn alg_none_is_refused() {
    let dir = Dir::new();
    for source in ["secret-file = \"secret\"", "key-file = \"rsa.pem\""] {
        let auth = dir.load(&issuer(source, "")).unwrap();
        for alg in ["none", "None", "NONE"] {
            let token = forge(&json!({"alg": alg, "typ": "JWT"}), &claims(json!({})), None);
            assert_eq!(
                check(&auth, &token),
                invalid(TokenProblem::Algorithm),
                "{alg}"
            );
        }
    }
}

#[test]
fn an_hs256_token_signed_with_the_rsa_public_key_is_refused() {
    let dir = Dir::new();
    let auth = dir.load(&issuer("key-file = \"rsa.pem\"", "")).unwrap();
    let token = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims(json!({})),
        Some(RSA_PUBLIC),
    );
    assert_eq!(check(&auth, &token), invalid(TokenProblem::Algorithm));
    // Even when the config asks for HS256 as well: refused when the config is read.
    let err = dir
        .load(&issuer(
            "key-file = \"rsa.pem\"",
            "algorithms = [\"RS256\", \"HS256\"]",
        ))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::Jwt {
                problem: JwtProblem::AlgorithmWithoutKey(JwtAlgorithm::HS256),
                ..
            }
        ),
        "{err}"
    );
    // And an EdDSA key does not verify RS256 tokens.
    let auth = dir.load(&issuer("key-file = \"ed.pem\"", "")).unwrap();
    let token = sign(Algorithm::RS256, None, &claims(json!({})));
    assert_eq!(check(&auth, &token), invalid(TokenProblem::Algorithm));
}

#[test]
fn a_tampered_token_is_refused() {
    let dir = Dir::new();
    for (source, alg) in [
        ("secret-file = \"secret\"", Algorithm::HS256),
        ("key-file = \"rsa.pem\"", Algorithm::RS256),
        ("key-file = \"ed.pem\"", Algorithm::EdDSA),
    ] {
        let auth = dir.load(&issuer(source, "")).unwrap();
        let token = sign(alg, None, &claims(json!({})));
        let (message, signature) = token.rsplit_once('.').unwrap();
        // Another signature of the right length.
        let mut bytes = base64url::decode(signature.as_bytes()).unwrap();
        bytes[0] ^= 1;
        let tampered = format!("{message}.{}", base64url::encode(&bytes));
        assert_eq!(
            check(&auth, &tampered),
            invalid(TokenProblem::Signature),
            "{alg:?}"
        );
        // Other claims under the original signature.
        let (header, _) = message.split_once('.').unwrap();
        let payload = claims(json!({"roles": ["admin"]})).to_string();
        let swapped = format!(
            "{header}.{}.{signature}",
            base64url::encode(payload.as_bytes())
        );
        assert_eq!(
            check(&auth, &swapped),
            invalid(TokenProblem::Signature),
            "{alg:?}"
        );
        // No signature at all.
        assert_eq!(
            check(&auth, &format!("{message}.")),
            invalid(TokenProblem::Signature),
            "{alg:?}"
        );
    }
}

#[test]
fn a_token_that_is_not_a_jwt_is_refused() {
    let dir = Dir::new();
    let auth = dir.load(&issuer("secret-file = \"secret\"", "")).unwrap();
    for token in ["a.b.c", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig"] {
        assert_eq!(
            check(&auth, token),
            invalid(TokenProblem::Malformed),
            "{token}"
        );
    }
    let token = forge(
        &json!({"alg": "HS256", "crit": ["exp"]}),
        &claims(json!({})),
        Some(SECRET),
    );
    assert_eq!(check(&auth, &token), invalid(TokenProblem::CriticalHeader));
}

fn jwks(keys: &[(Algorithm, Option<&str>)]) -> Vec<u8> {
    let keys = keys
        .iter()
        .map(|(alg, kid)| {
            let key = match alg {
                Algorithm::RS256 => EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
                Algorithm::EdDSA => EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
                other => panic!("{other:?}"),
            };
            let mut jwk = Jwk::from_encoding_key(&key, *alg).unwrap();
            jwk.common.key_id = kid.map(str::to_owned);
            jwk
        })
        .collect();
    serde_json::to_vec(&JwkSet { keys }).unwrap()
}

#[test]
fn a_jwks_key_is_picked_by_kid() {
    let dir = Dir::new();
    dir.write(
        "jwks.json",
        &jwks(&[
            (Algorithm::RS256, Some("r1")),
            (Algorithm::EdDSA, Some("e1")),
        ]),
        0o644,
    );
    let auth = dir.load(&issuer("jwks-file = \"jwks.json\"", "")).unwrap();
    let ok = |alg, kid| check(&auth, &sign(alg, kid, &claims(json!({}))));
    assert!(ok(Algorithm::RS256, Some("r1")).is_ok());
    assert!(ok(Algorithm::EdDSA, Some("e1")).is_ok());
    assert_eq!(
        ok(Algorithm::RS256, Some("r2")),
        invalid(TokenProblem::UnknownKid)
    );
    assert_eq!(
        ok(Algorithm::RS256, None),
        invalid(TokenProblem::MissingKid)
    );
    // The kid names an Ed25519 key: an RS256 header does not make it RSA.
    assert_eq!(
        ok(Algorithm::RS256, Some("e1")),
        invalid(TokenProblem::Algorithm)
    );
    let forged = forge(
        &json!({"alg": "HS256", "kid": "r1"}),
        &claims(json!({})),
        Some(RSA_PUBLIC),
    );
    assert_eq!(check(&auth, &forged), invalid(TokenProblem::Algorithm));
}

#[test]
fn a_single_key_jwks_takes_tokens_without_kid() {
    let dir = Dir::new();
    dir.write("jwks.json", &jwks(&[(Algorithm::EdDSA, Some("e1"))]), 0o644);
    let auth = dir.load(&issuer("jwks-file = \"jwks.json\"", "")).unwrap();
    assert!(check(&auth, &sign(Algorithm::EdDSA, None, &claims(json!({})))).is_ok());
    assert_eq!(
        check(
            &auth,
            &sign(Algorithm::EdDSA, Some("e2"), &claims(json!({})))
        ),
        invalid(TokenProblem::UnknownKid)
    );
}

#[test]
fn roles_come_as_an_array_or_a_space_separated_string() {
    let dir = Dir::new();
    let auth = dir
        .load(&issuer(
            "secret-file = \"secret\"",
            "roles-claim = \"scope\"",
        ))
        .unwrap();
    let token = sign(
        Algorithm::HS256,
        None,
        &claims(json!({"scope": "read:invoices  write:invoices"})),
    );
    assert_eq!(
        check(&auth, &token).unwrap().roles,
        ["read:invoices", "write:invoices"]
    );
    let token = sign(
        Algorithm::HS256,
        None,
        &claims(json!({"scope": ["a", "b"]})),
    );
    assert_eq!(check(&auth, &token).unwrap().roles, ["a", "b"]);
    let token = sign(Algorithm::HS256, None, &claims(json!({})));
    assert!(check(&auth, &token).unwrap().roles.is_empty());
    for bad in [json!([1]), json!({"a": 1}), json!(["a\nb"]), json!([""])] {
        let token = sign(Algorithm::HS256, None, &claims(json!({"scope": bad})));
        assert_eq!(
            check(&auth, &token),
            invalid(TokenProblem::InvalidClaim("scope".into()))
        );
    }
}

#[test]
fn the_agent_claim_and_operator_role_are_configurable() {
    let dir = Dir::new();
    let auth = dir
        .load(&issuer(
            "secret-file = \"secret\"",
            "agent-claim = \"azp\"\noperator-role = \"lampart-admin\"",
        ))
        .unwrap();
    let token = sign(
        Algorithm::HS256,
        None,
        &claims(json!({"azp": "billing-bot", "sub": "u-1"})),
    );
    let identity = check(&auth, &token).unwrap();
    assert_eq!(identity.agent.as_deref(), Some("billing-bot"));
    assert!(!identity.operator);
    assert_eq!(identity.credential.to_string(), format!("jwt:{ISSUER}:u-1"));
    let token = sign(Algorithm::HS256, None, &claims(json!({})));
    assert_eq!(
        check(&auth, &token),
        invalid(TokenProblem::MissingClaim("azp".into()))
    );
    let token = sign(
        Algorithm::HS256,
        None,
        &claims(json!({"roles": ["lampart-admin"]})),
    );
    let identity = check(&auth, &token).unwrap();
    assert!(identity.operator);
    assert_eq!(identity.agent, None);
    let token = sign(Algorithm::HS256, None, &claims(json!({"azp": 7})));
    assert_eq!(
        check(&auth, &token),
        invalid(TokenProblem::InvalidClaim("azp".into()))
    );
}

#[test]
fn several_issuers_are_told_apart_by_iss() {
    let dir = Dir::new();
    let toml = issuer("key-file = \"rsa.pem\"", "")
        + "[[jwt]]\nissuer = \"other\"\naudience = \"lampart\"\nkey-file = \"ed.pem\"\n";
    let auth = dir.load(&toml).unwrap();
    assert!(check(&auth, &sign(Algorithm::RS256, None, &claims(json!({})))).is_ok());
    let other = claims(json!({"iss": "other"}));
    assert!(check(&auth, &sign(Algorithm::EdDSA, None, &other)).is_ok());
    // Signed by the first issuer's key but claiming to be the second.
    assert_eq!(
        check(&auth, &sign(Algorithm::RS256, None, &other)),
        invalid(TokenProblem::Algorithm)
    );
    let err = dir
        .load(&(issuer("key-file = \"rsa.pem\"", "") + &issuer("key-file = \"ed.pem\"", "")))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::Jwt {
                problem: JwtProblem::DuplicateIssuer,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_issuer_entries_are_refused() {
    let dir = Dir::new();
    dir.write("short", b"too short", 0o600);
    dir.write("rsa_private.pem", RSA_PRIVATE, 0o600);
    dir.write(
        "garbage.pem",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        0o644,
    );
    dir.write("bad.json", b"{\"keys\": 3}", 0o644);
    dir.write("empty.json", b"{\"keys\": []}", 0o644);
    for (source, expected) in [
        ("", JwtProblem::KeySources(0)),
        (
            "key-file = \"rsa.pem\"\nsecret-file = \"secret\"",
            JwtProblem::KeySources(2),
        ),
        ("secret-file = \"short\"", JwtProblem::ShortSecret(9)),
        ("key-file = \"rsa_private.pem\"", JwtProblem::PrivateKey),
        ("key-file = \"garbage.pem\"", JwtProblem::Pem),
        ("jwks-file = \"empty.json\"", JwtProblem::NoUsableKey),
        (
            "key-file = \"rsa.pem\"\nalgorithms = []",
            JwtProblem::NoAlgorithms,
        ),
        (
            "secret-file = \"secret\"\nalgorithms = [\"EdDSA\"]",
            JwtProblem::AlgorithmWithoutKey(JwtAlgorithm::EdDSA),
        ),
        (
            "key-file = \"rsa.pem\"\nagent-claim = \"\"",
            JwtProblem::ClaimName {
                field: "agent-claim",
                problem: NameProblem::Empty,
            },
        ),
    ] {
        let err = dir.load(&issuer(source, "")).unwrap_err();
        assert!(
            matches!(&err, AuthConfigError::Jwt { problem, .. } if *problem == expected),
            "{source}: {err}"
        );
        assert!(
            err.to_string()
                .starts_with("[[auth.jwt]] issuer `https://login.example.com`: "),
            "{err}"
        );
    }
    let err = dir
        .load(&issuer("jwks-file = \"bad.json\"", ""))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::Jwt {
                problem: JwtProblem::Jwks(_),
                ..
            }
        ),
        "{err}"
    );
    let err = dir
        .load("[[jwt]]\nissuer = \"\"\naudience = \"a\"\nsecret-file = \"secret\"\n")
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::Jwt {
                problem: JwtProblem::EmptyIssuer,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        toml::from_str::<AuthSection>(&issuer(
            "key-file = \"rsa.pem\"",
            "algorithms = [\"ES256\"]"
        ))
        .is_err()
    );
}

#[cfg(unix)]
#[test]
fn a_shared_secret_others_may_read_is_refused() {
    let dir = Dir::new();
    dir.write("secret", SECRET, 0o644);
    let err = dir
        .load(&issuer("secret-file = \"secret\"", ""))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AuthConfigError::File {
                problem: FileUse::ReadableByOthers { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("[[auth.jwt]] issuer `https://login.example.com` secret-file `"),
        "{err}"
    );
}

#[test]
fn failures_never_quote_the_credential() {
    let dir = Dir::new();
    let auth = dir.load(&issuer("secret-file = \"secret\"", "")).unwrap();
    let token = sign(Algorithm::HS256, None, &claims(json!({"exp": at(-1000)})));
    let failure = check(&auth, &token).unwrap_err();
    assert_eq!(failure, AuthFailure::Expired);
    for failure in [
        failure,
        AuthFailure::Missing,
        AuthFailure::Malformed,
        AuthFailure::UnknownKey,
        AuthFailure::InvalidToken(TokenProblem::Signature),
    ] {
        let text = failure.to_string();
        assert!(!text.contains(&token) && !text.contains('\n'), "{text}");
        assert!(failure.challenge().starts_with("Bearer"));
    }
}

#[test]
fn the_section_parses_from_the_chain_config() {
    let config = crate::config::ChainConfig::parse(
        Path::new("chain.toml"),
        "[[step]]\nplugin = \"p.wasm\"\n[auth]\nkeys-file = \"keys.toml\"\n[[auth.key]]\nid = \"k\"\nhash = \"blake3:0000000000000000000000000000000000000000000000000000000000000000\"\nagent = \"a\"\n[[auth.jwt]]\nissuer = \"i\"\naudience = \"a\"\nkey-file = \"k.pem\"\nleeway = \"1m\"\n",
    )
    .unwrap();
    let auth = config.auth.unwrap();
    assert_eq!(auth.key.len(), 1);
    assert_eq!(auth.jwt[0].leeway, Leeway(Duration::from_secs(60)));
    assert_eq!(auth.jwt[0].agent_claim, "sub");
    assert_eq!(auth.jwt[0].roles_claim, "roles");
}
