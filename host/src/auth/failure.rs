//! Why a request is not authenticated: facts safe to send back to the client. No message ever
//! quotes the credential.

/// Why a request's credential is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// There is no `Authorization` header.
    #[error("no credential: send `Authorization: Bearer <API key or JWT>`")]
    Missing,
    /// The header is not `Bearer` followed by something shaped like an API key or a JWT.
    #[error("the Authorization header is not `Bearer` followed by an API key or a JWT")]
    Malformed,
    /// A well-formed API key that is not configured (or no longer).
    #[error("unknown API key")]
    UnknownKey,
    /// A JWT that is refused for a reason other than time.
    #[error("invalid token: {0}")]
    InvalidToken(TokenProblem),
    /// A JWT whose `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// A JWT whose `nbf` has not come yet (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
}

impl AuthFailure {
    /// The `WWW-Authenticate` challenge to answer with (RFC 6750 §3).
    pub fn challenge(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "Bearer",
            AuthFailure::Malformed => "Bearer error=\"invalid_request\"",
            _ => "Bearer error=\"invalid_token\"",
        }
    }
}

/// What is wrong with a JWT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenProblem {
    /// Not three base64url segments with a JSON header and a JSON object of claims.
    #[error("not a well-formed JWT")]
    Malformed,
    /// The header has a `crit` member: extensions this service does not understand.
    #[error("critical header extensions are not supported")]
    CriticalHeader,
    /// No `iss` claim, or an issuer that is not configured.
    #[error("issuer not accepted")]
    Issuer,
    /// The header's `alg` is not one the issuer's key may verify (`none`, or another key
    /// type's algorithm).
    #[error("algorithm not accepted")]
    Algorithm,
    /// No `kid` in the header, and the issuer has several keys.
    #[error("no `kid` in the header, and the issuer has several keys")]
    MissingKid,
    /// A `kid` that names none of the issuer's keys.
    #[error("no key with this `kid`")]
    UnknownKid,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    Signature,
    /// The `aud` claim does not hold the configured audience.
    #[error("audience not accepted")]
    Audience,
    /// A required claim is missing (the claim's name).
    #[error("the `{0}` claim is missing")]
    MissingClaim(String),
    /// A claim has the wrong type or value (the claim's name).
    #[error("the `{0}` claim is not valid")]
    InvalidClaim(String),
}
