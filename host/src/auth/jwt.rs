//! JWTs: tokens signed by a configured issuer (HS256, RS256 or EdDSA), checked for issuer,
//! audience, expiry and not-before, and mapped to an identity through configured claims.
//!
//! The token's unverified `iss` only picks the issuer's keys; everything that is taken from
//! the token is taken after its signature verifies. The header's `alg` must be one the issuer
//! accepts *and* one the chosen key's type verifies, so `alg: none` and an HS256 token
//! "signed" with an RSA public key as the secret are both refused. Expiry and not-before are
//! checked against the `now` given, not the system clock, so that they can be tested.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::{JwtAlgorithm, JwtEntry};
use super::error::{AuthConfigError, JwtProblem};
use super::file::{self, Secrecy};
use super::names::check_name;
use super::{AuthFailure, CredentialId, Identity, TokenProblem, base64url};

/// The shortest HS256 secret accepted: 256 bits.
const MIN_SECRET_BYTES: usize = 32;

/// The configured issuers, by their `iss`.
#[derive(Debug, Default)]
pub(super) struct Issuers {
    by_issuer: HashMap<String, Issuer>,
}

/// One issuer, ready to verify its tokens.
#[derive(Debug)]
struct Issuer {
    issuer: String,
    algorithms: Vec<JwtAlgorithm>,
    keys: IssuerKeys,
    /// One validation per accepted algorithm, built once.
    validations: Vec<(JwtAlgorithm, Validation)>,
    agent_claim: String,
    roles_claim: String,
    operator_role: Option<String>,
    leeway: f64,
}

/// The keys an issuer signs with.
#[derive(Debug)]
enum IssuerKeys {
    /// A secret or a public key: the header's `kid` does not matter.
    Single(VerifyKey),
    /// A key set: the header's `kid` picks the key; without one, only a set of one key will do.
    Set {
        by_kid: HashMap<String, VerifyKey>,
        only: Option<VerifyKey>,
    },
}

/// A key and the algorithms it may verify (all of its type).
#[derive(Debug, Clone)]
struct VerifyKey {
    key: DecodingKey,
    algorithms: Vec<JwtAlgorithm>,
}

/// The header members that matter here; others are ignored.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

impl Issuers {
    /// Reads and checks the `[[auth.jwt]]` entries; files are relative to `base_dir`.
    pub fn load(entries: &[JwtEntry], base_dir: &Path) -> Result<Issuers, AuthConfigError> {
        let mut by_issuer = HashMap::new();
        for entry in entries {
            let issuer = Issuer::load(entry, base_dir)?;
            if by_issuer.contains_key(&issuer.issuer) {
                return Err(AuthConfigError::Jwt {
                    issuer: entry.issuer.clone(),
                    problem: JwtProblem::DuplicateIssuer,
                });
            }
            by_issuer.insert(issuer.issuer.clone(), issuer);
        }
        Ok(Issuers { by_issuer })
    }

    /// Whether no issuer is configured.
    pub fn is_empty(&self) -> bool {
        self.by_issuer.is_empty()
    }

    /// The identity a token proves, or why it proves none.
    pub fn authenticate(&self, token: &str, now: SystemTime) -> Result<Identity, AuthFailure> {
        let invalid = AuthFailure::InvalidToken;
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(TokenProblem::Malformed));
        };
        if !base64url::is_alphabet(signature.as_bytes()) {
            return Err(invalid(TokenProblem::Malformed));
        }
        let header: Header = decode_json(header)?;
        if header.crit.is_some() {
            return Err(invalid(TokenProblem::CriticalHeader));
        }
        // Unverified: only picks whose keys to verify with.
        let claims: Map<String, Value> = decode_json(payload)?;
        let issuer = claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| self.by_issuer.get(iss))
            .ok_or(invalid(TokenProblem::Issuer))?;
        issuer.verify(token, &header, now)
    }
}

/// A base64url segment holding a JSON object.
fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, AuthFailure> {
    base64url::decode(segment.as_bytes())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(AuthFailure::InvalidToken(TokenProblem::Malformed))
}

impl Issuer {
    fn load(entry: &JwtEntry, base_dir: &Path) -> Result<Issuer, AuthConfigError> {
        let error = |problem: JwtProblem| AuthConfigError::Jwt {
            issuer: entry.issuer.clone(),
            problem,
        };
        if entry.issuer.is_empty() {
            return Err(error(JwtProblem::EmptyIssuer));
        }
        if entry.audience.is_empty() {
            return Err(error(JwtProblem::EmptyAudience));
        }
        if entry.algorithms.as_ref().is_some_and(Vec::is_empty) {
            return Err(error(JwtProblem::NoAlgorithms));
        }
        for (field, name) in [
            ("agent-claim", &entry.agent_claim),
            ("roles-claim", &entry.roles_claim),
        ] {
            check_name(name).map_err(|problem| error(JwtProblem::ClaimName { field, problem }))?;
        }
        if let Some(role) = &entry.operator_role {
            check_name(role).map_err(|p| error(JwtProblem::OperatorRole(p)))?;
        }
        let sources = [&entry.secret_file, &entry.key_file, &entry.jwks_file];
        let count = sources.iter().filter(|s| s.is_some()).count();
        if count != 1 {
            return Err(error(JwtProblem::KeySources(count)));
        }
        let read = |field: &str, path: &Path, secrecy: Secrecy| {
            let path = base_dir.join(path);
            file::read(&path, secrecy).map_err(|problem| AuthConfigError::File {
                field: format!(
                    "[[auth.jwt]] issuer `{}` {field}",
                    crate::text::escape(&entry.issuer)
                ),
                path,
                problem,
            })
        };
        let keys = if let Some(path) = &entry.secret_file {
            let secret = read("secret-file", path, Secrecy::Secret)?;
            if secret.len() < MIN_SECRET_BYTES {
                return Err(error(JwtProblem::ShortSecret(secret.len())));
            }
            single_key(DecodingKey::from_secret(&secret), entry).map_err(error)?
        } else if let Some(path) = &entry.key_file {
            let pem = read("key-file", path, Secrecy::Public)?;
            single_key(public_key(&pem).map_err(error)?, entry).map_err(error)?
        } else if let Some(path) = &entry.jwks_file {
            let json = read("jwks-file", path, Secrecy::Public)?;
            key_set(&json, entry).map_err(error)?
        } else {
            return Err(error(JwtProblem::KeySources(0)));
        };
        let algorithms = match &keys {
            IssuerKeys::Single(key) => key.algorithms.clone(),
            IssuerKeys::Set { by_kid, only } => {
                let mut all: Vec<JwtAlgorithm> = Vec::new();
                for key in by_kid.values().chain(only) {
                    for alg in &key.algorithms {
                        if !all.contains(alg) {
                            all.push(*alg);
                        }
                    }
                }
                all
            }
        };
        let validations = algorithms
            .iter()
            .map(|&alg| (alg, validation(alg, entry)))
            .collect();
        Ok(Issuer {
            issuer: entry.issuer.clone(),
            algorithms,
            keys,
            validations,
            agent_claim: entry.agent_claim.clone(),
            roles_claim: entry.roles_claim.clone(),
            operator_role: entry.operator_role.clone(),
            leeway: entry.leeway.0.as_secs_f64(),
        })
    }

    fn verify(
        &self,
        token: &str,
        header: &Header,
        now: SystemTime,
    ) -> Result<Identity, AuthFailure> {
        let invalid = AuthFailure::InvalidToken;
        let alg = JwtAlgorithm::from_header(&header.alg)
            .filter(|alg| self.algorithms.contains(alg))
            .ok_or(invalid(TokenProblem::Algorithm))?;
        let key = match &self.keys {
            IssuerKeys::Single(key) => key,
            IssuerKeys::Set { by_kid, only } => match &header.kid {
                Some(kid) => by_kid.get(kid).ok_or(invalid(TokenProblem::UnknownKid))?,
                None => only.as_ref().ok_or(invalid(TokenProblem::MissingKid))?,
            },
        };
        // The key's own type decides, never the header: no HS256 with a public key as secret.
        if !key.algorithms.contains(&alg) || key.key.family() != alg.family() {
            return Err(invalid(TokenProblem::Algorithm));
        }
        let validation = self
            .validations
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, v)| v)
            .ok_or(invalid(TokenProblem::Algorithm))?;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, validation)
            .map_err(|e| token_failure(e.kind()))?
            .claims;
        self.check_times(&claims, now)?;
        self.identity(&claims)
    }

    /// `exp` (required) and `nbf` (optional), against `now`, with the leeway.
    fn check_times(&self, claims: &Map<String, Value>, now: SystemTime) -> Result<(), AuthFailure> {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let time = |name: &str| match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_f64()
                .filter(|t| t.is_finite())
                .map(Some)
                .ok_or_else(|| AuthFailure::InvalidToken(TokenProblem::InvalidClaim(name.into()))),
        };
        let exp = time("exp")?
            .ok_or_else(|| AuthFailure::InvalidToken(TokenProblem::MissingClaim("exp".into())))?;
        if now >= exp + self.leeway {
            return Err(AuthFailure::Expired);
        }
        if let Some(nbf) = time("nbf")?
            && now + self.leeway < nbf
        {
            return Err(AuthFailure::NotYetValid);
        }
        Ok(())
    }

    /// The agent, roles and operator flag the verified claims give.
    fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, AuthFailure> {
        let invalid_claim =
            |name: &str| AuthFailure::InvalidToken(TokenProblem::InvalidClaim(name.to_owned()));
        let roles: Vec<String> = match claims.get(&self.roles_claim) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(text)) => text.split_ascii_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid_claim(&self.roles_claim))?,
            Some(_) => return Err(invalid_claim(&self.roles_claim)),
        };
        if roles.iter().any(|role| check_name(role).is_err()) {
            return Err(invalid_claim(&self.roles_claim));
        }
        let operator = self
            .operator_role
            .as_ref()
            .is_some_and(|op| roles.contains(op));
        let agent = match claims.get(&self.agent_claim) {
            None | Some(Value::Null) if operator => None,
            None | Some(Value::Null) => {
                return Err(AuthFailure::InvalidToken(TokenProblem::MissingClaim(
                    self.agent_claim.clone(),
                )));
            }
            Some(Value::String(agent)) if check_name(agent).is_ok() => Some(agent.clone()),
            Some(_) => return Err(invalid_claim(&self.agent_claim)),
        };
        let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        Ok(Identity {
            agent,
            roles,
            operator,
            credential: CredentialId::Jwt {
                issuer: self.issuer.clone(),
                subject,
            },
        })
    }
}

/// What `jsonwebtoken` checks: the signature, `iss` and `aud`. `exp` and `nbf` are checked
/// against the given `now` instead (see [`Issuer::check_times`]).
fn validation(alg: JwtAlgorithm, entry: &JwtEntry) -> Validation {
    let mut validation = Validation::new(alg.to_jwt());
    validation.set_issuer(&[&entry.issuer]);
    validation.set_audience(&[&entry.audience]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = true;
    validation.leeway = 0;
    validation
}

/// A failure from `jsonwebtoken`, as told to the client.
fn token_failure(kind: &ErrorKind) -> AuthFailure {
    let problem = match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidKeyFormat => TokenProblem::Signature,
        ErrorKind::InvalidAudience => TokenProblem::Audience,
        ErrorKind::InvalidIssuer => TokenProblem::Issuer,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => TokenProblem::Algorithm,
        ErrorKind::MissingRequiredClaim(claim) => TokenProblem::MissingClaim(claim.clone()),
        ErrorKind::InvalidClaimFormat(claim) => TokenProblem::InvalidClaim(claim.clone()),
        ErrorKind::ExpiredSignature => return AuthFailure::Expired,
        ErrorKind::ImmatureSignature => return AuthFailure::NotYetValid,
        _ => TokenProblem::Malformed,
    };
    AuthFailure::InvalidToken(problem)
}

/// The algorithm a key type calls for when `algorithms` is not given.
fn default_algorithm(family: AlgorithmFamily) -> Option<JwtAlgorithm> {
    match family {
        AlgorithmFamily::Hmac => Some(JwtAlgorithm::HS256),
        AlgorithmFamily::Rsa => Some(JwtAlgorithm::RS256),
        AlgorithmFamily::Ed => Some(JwtAlgorithm::EdDSA),
        AlgorithmFamily::Ec => None,
    }
}

/// A secret or public key, with the entry's algorithms (all of which it must verify).
fn single_key(key: DecodingKey, entry: &JwtEntry) -> Result<IssuerKeys, JwtProblem> {
    let algorithms = match &entry.algorithms {
        Some(algorithms) => {
            if let Some(alg) = algorithms.iter().find(|a| a.family() != key.family()) {
                return Err(JwtProblem::AlgorithmWithoutKey(*alg));
            }
            algorithms.clone()
        }
        None => default_algorithm(key.family()).into_iter().collect(),
    };
    Ok(IssuerKeys::Single(VerifyKey { key, algorithms }))
}

/// An RSA or Ed25519 public key in PEM.
fn public_key(pem: &[u8]) -> Result<DecodingKey, JwtProblem> {
    let text = std::str::from_utf8(pem).map_err(|_| JwtProblem::Pem)?;
    if text.contains("PRIVATE KEY-----") {
        return Err(JwtProblem::PrivateKey);
    }
    DecodingKey::from_rsa_pem(pem)
        .or_else(|_| DecodingKey::from_ed_pem(pem))
        .map_err(|_| JwtProblem::Pem)
}

/// A JWKS: signing keys by `kid`. Keys for encryption, of other types or curves, or for
/// algorithms not accepted are left out; an HS256 (`oct`) key only counts when `algorithms`
/// lists HS256.
fn key_set(json: &[u8], entry: &JwtEntry) -> Result<IssuerKeys, JwtProblem> {
    let set: JwkSet = serde_json::from_slice(json).map_err(|e| JwtProblem::Jwks(e.to_string()))?;
    let mut candidates = Vec::new();
    for (index, jwk) in set.keys.iter().enumerate() {
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            continue;
        }
        let family = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                AlgorithmFamily::Ed
            }
            AlgorithmParameters::OctetKey(_) => AlgorithmFamily::Hmac,
            _ => continue,
        };
        let jwk_alg = match jwk.common.key_algorithm {
            None => None,
            Some(KeyAlgorithm::HS256) => Some(JwtAlgorithm::HS256),
            Some(KeyAlgorithm::RS256) => Some(JwtAlgorithm::RS256),
            Some(KeyAlgorithm::EdDSA) => Some(JwtAlgorithm::EdDSA),
            Some(_) => continue,
        };
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| JwtProblem::Jwks(format!("key number {}: {e}", index + 1)))?;
        candidates.push((jwk.common.key_id.clone(), key, family, jwk_alg));
    }
    let accepted: Vec<JwtAlgorithm> = match &entry.algorithms {
        Some(algorithms) => algorithms.clone(),
        None => {
            let mut defaults = Vec::new();
            for (_, _, family, _) in &candidates {
                if *family != AlgorithmFamily::Hmac
                    && let Some(alg) = default_algorithm(*family)
                    && !defaults.contains(&alg)
                {
                    defaults.push(alg);
                }
            }
            defaults
        }
    };
    let mut by_kid = HashMap::new();
    let mut usable = Vec::new();
    for (kid, key, family, jwk_alg) in candidates {
        let algorithms: Vec<JwtAlgorithm> = accepted
            .iter()
            .copied()
            .filter(|a| a.family() == family && jwk_alg.is_none_or(|j| j == *a))
            .collect();
        if algorithms.is_empty() {
            continue;
        }
        let key = VerifyKey { key, algorithms };
        if let Some(kid) = kid
            && by_kid.insert(kid.clone(), key.clone()).is_some()
        {
            return Err(JwtProblem::DuplicateKid(kid));
        }
        usable.push(key);
    }
    if usable.is_empty() {
        return Err(JwtProblem::NoUsableKey);
    }
    if let Some(alg) = accepted
        .iter()
        .find(|a| !usable.iter().any(|k| k.algorithms.contains(a)))
    {
        return Err(JwtProblem::AlgorithmWithoutKey(*alg));
    }
    let only = if usable.len() == 1 {
        usable.pop()
    } else {
        None
    };
    Ok(IssuerKeys::Set { by_kid, only })
}
