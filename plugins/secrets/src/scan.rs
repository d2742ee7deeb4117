//! Finding secrets in one string: a single pass over its bytes that tries the known token
//! shapes at every word start, plus private-key blocks, credentials in URLs, bearer tokens
//! and values assigned to secret-sounding names.

use lampart_sdk::Severity;

/// One secret found in a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// What kind of secret: the rule is `secrets.<kind>`.
    pub kind: &'static str,
    /// How serious its exposure is.
    pub severity: Severity,
    /// Byte range of the secret in the string.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
}

/// Every kind this scanner reports, with its severity and a description for people.
pub const KINDS: &[(&str, Severity, &str)] = &[
    (
        "aws-access-key-id",
        Severity::Critical,
        "an AWS access key id",
    ),
    (
        "aws-secret-access-key",
        Severity::Critical,
        "an AWS secret access key",
    ),
    (
        "azure-storage-key",
        Severity::Critical,
        "an Azure storage account key",
    ),
    ("google-api-key", Severity::High, "a Google API key"),
    ("github-token", Severity::Critical, "a GitHub token"),
    (
        "gitlab-token",
        Severity::Critical,
        "a GitLab personal access token",
    ),
    ("slack-token", Severity::Critical, "a Slack token"),
    (
        "slack-webhook",
        Severity::High,
        "a Slack incoming-webhook URL",
    ),
    ("stripe-key", Severity::Critical, "a Stripe live secret key"),
    (
        "stripe-test-key",
        Severity::Medium,
        "a Stripe test secret key",
    ),
    ("openai-key", Severity::Critical, "an OpenAI API key"),
    ("anthropic-key", Severity::Critical, "an Anthropic API key"),
    ("sendgrid-key", Severity::Critical, "a SendGrid API key"),
    ("twilio-key", Severity::High, "a Twilio API key"),
    ("npm-token", Severity::Critical, "an npm access token"),
    ("pypi-token", Severity::Critical, "a PyPI upload token"),
    ("huggingface-token", Severity::High, "a Hugging Face token"),
    ("private-key", Severity::Critical, "a private key"),
    ("jwt", Severity::High, "a JSON Web Token"),
    ("url-password", Severity::High, "a password in a URL"),
    ("bearer-token", Severity::High, "a bearer token"),
    (
        "generic-secret",
        Severity::High,
        "a value assigned to a secret-sounding name",
    ),
];

/// The severity and description of `kind`.
pub fn describe(kind: &str) -> (Severity, &'static str) {
    KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, s, d)| (*s, *d))
        .unwrap_or((Severity::High, "a secret"))
}

fn hit(kind: &'static str, start: usize, end: usize) -> Hit {
    Hit {
        kind,
        severity: describe(kind).0,
        start,
        end,
    }
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// The end of the run of bytes from `from` for which `class` holds.
fn run(bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !class(*b))
        .map_or(bytes.len(), |n| from + n)
}

/// The end of the run from `from`, read for at most `max` bytes.
fn run_max(bytes: &[u8], from: usize, class: impl Fn(u8) -> bool, max: usize) -> usize {
    from + bytes[from..]
        .iter()
        .take(max)
        .take_while(|b| class(**b))
        .count()
}

/// A token: `prefix`, then a run of `class` of `min..=max` bytes, not followed by another
/// byte of `class` (so a longer identifier is not cut into a key).
fn token(
    bytes: &[u8],
    at: usize,
    prefix: &[u8],
    class: fn(u8) -> bool,
    min: usize,
    max: usize,
) -> Option<usize> {
    if !bytes[at..].starts_with(prefix) {
        return None;
    }
    let body = at + prefix.len();
    let end = run(bytes, body, class);
    let len = end - body;
    (len >= min && len <= max).then_some(end)
}

/// Shannon entropy, bits per byte.
pub fn entropy(value: &[u8]) -> f64 {
    if value.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in value {
        counts[usize::from(*b)] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Every secret in `text`, in order, without overlaps.
pub fn scan(text: &str) -> Vec<Hit> {
    let bytes = text.as_bytes();
    let mut hits = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_alnum(bytes[i - 1]);
        let found = if starts_word { at_word(bytes, i) } else { None };
        match found {
            Some(h) => {
                i = h.end.max(i + 1);
                hits.push(h);
            }
            None => i += 1,
        }
    }
    hits
}

/// The secret that starts at `i` (a word start), if any.
fn at_word(bytes: &[u8], i: usize) -> Option<Hit> {
    if let Some(h) = shaped(bytes, i) {
        return Some(h);
    }
    if bytes[i].is_ascii_alphabetic()
        && (i == 0 || !matches!(bytes[i - 1], b'_' | b'-' | b'.'))
        && let Some((start, end)) = assignment(bytes, i)
    {
        // A value with a shape of its own is reported as what it is.
        return Some(
            shaped(bytes, start)
                .filter(|h| h.start == start)
                .unwrap_or_else(|| hit(assignment_kind(bytes, i), start, end)),
        );
    }
    None
}

/// The secret with a recognisable shape (a known prefix, a PEM block, a URL's password, a
/// bearer token) that starts at `i`, if any.
fn shaped(bytes: &[u8], i: usize) -> Option<Hit> {
    // Not from inside a longer run of a token's alphabet (`x_AKIA…`, `a-eyJ…`): a token
    // starts where such a run starts, and trying every position of a run would make a long
    // run cost its length squared.
    if i >= bytes.len() || (i > 0 && matches!(bytes[i - 1], b'_' | b'-' | b'.')) {
        return None;
    }
    let t = |prefix: &[u8], class: fn(u8) -> bool, min: usize, max: usize| {
        token(bytes, i, prefix, class, min, max)
    };
    let upper_digit = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let found: Option<(&'static str, usize)> = match bytes[i] {
        b'A' => ["AKIA", "ASIA", "ABIA", "ACCA"]
            .iter()
            .find_map(|p| t(p.as_bytes(), upper_digit, 16, 16))
            .map(|e| ("aws-access-key-id", e))
            .or_else(|| t(b"AIza", is_b64url, 35, 35).map(|e| ("google-api-key", e)))
            .or_else(|| azure_key(bytes, i).map(|(_, e)| ("azure-storage-key", e))),
        b'g' => ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
            .iter()
            .find_map(|p| t(p.as_bytes(), is_alnum, 36, 255))
            .or_else(|| t(b"github_pat_", |b| is_alnum(b) || b == b'_', 22, 255))
            .map(|e| ("github-token", e))
            .or_else(|| t(b"glpat-", is_b64url, 20, 255).map(|e| ("gitlab-token", e))),
        b'x' => [
            "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxo-",
        ]
        .iter()
        .find_map(|p| t(p.as_bytes(), |b| is_alnum(b) || b == b'-', 10, 255))
        .map(|e| ("slack-token", e)),
        b's' => t(b"sk_live_", is_alnum, 20, 255)
            .map(|e| ("stripe-key", e))
            .or_else(|| t(b"sk_test_", is_alnum, 20, 255).map(|e| ("stripe-test-key", e)))
            .or_else(|| t(b"sk-ant-", is_b64url, 32, 255).map(|e| ("anthropic-key", e)))
            .or_else(|| t(b"sk-", is_b64url, 32, 255).map(|e| ("openai-key", e))),
        b'r' => t(b"rk_live_", is_alnum, 20, 255).map(|e| ("stripe-key", e)),
        b'S' => sendgrid(bytes, i)
            .map(|e| ("sendgrid-key", e))
            .or_else(|| t(b"SK", lower_hex, 32, 32).map(|e| ("twilio-key", e))),
        b'n' => t(b"npm_", is_alnum, 36, 36).map(|e| ("npm-token", e)),
        b'p' => t(b"pypi-AgEIcHlwaS5vcmc", is_b64url, 50, 512).map(|e| ("pypi-token", e)),
        b'h' => t(b"hf_", is_alnum, 34, 40)
            .map(|e| ("huggingface-token", e))
            .or_else(|| slack_webhook(bytes, i).map(|e| ("slack-webhook", e))),
        b'e' => jwt(bytes, i).map(|e| ("jwt", e)),
        b'-' => private_key(bytes, i).map(|e| ("private-key", e)),
        b'B' | b'b' => bearer(bytes, i),
        _ => None,
    };
    if let Some((kind, end)) = found {
        // A bearer token or an Azure key follows its marker; other tokens start at `i`.
        let start = match kind {
            "bearer-token" => bearer_start(bytes, i),
            "azure-storage-key" => i + b"AccountKey=".len(),
            _ => i,
        };
        return Some(hit(kind, start, end));
    }
    if bytes[i].is_ascii_alphabetic() {
        return url_password(bytes, i);
    }
    None
}

/// Where the token of `Bearer <token>` at `i` starts.
fn bearer_start(bytes: &[u8], i: usize) -> usize {
    i + 7 + run(&bytes[i + 7..], 0, |b| b == b' ')
}

/// `AccountKey=<88 base64>`.
fn azure_key(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let body = i + b"AccountKey=".len();
    if !bytes[i..].starts_with(b"AccountKey=") {
        return None;
    }
    let end = run(bytes, body, is_b64);
    let end = end
        + bytes[end..]
            .iter()
            .take(2)
            .take_while(|b| **b == b'=')
            .count();
    (end - body >= 86).then_some((body, end))
}

/// `SG.<22>.<43>`.
fn sendgrid(bytes: &[u8], i: usize) -> Option<usize> {
    let first = token(bytes, i, b"SG.", is_b64url, 22, 22)?;
    let second = token(bytes, first, b".", is_b64url, 43, 43)?;
    Some(second)
}

/// `hooks.slack.com/services/T…/B…/…`.
fn slack_webhook(bytes: &[u8], i: usize) -> Option<usize> {
    let prefix = b"hooks.slack.com/services/";
    if !bytes[i..].starts_with(prefix) {
        return None;
    }
    let end = run(bytes, i + prefix.len(), |b| is_alnum(b) || b == b'/');
    (end - i - prefix.len() >= 20).then_some(end)
}

/// `eyJ…`.`eyJ…`.`signature`: a header and payload that are base64url JSON objects.
fn jwt(bytes: &[u8], i: usize) -> Option<usize> {
    let header = token(bytes, i, b"eyJ", is_b64url, 10, 4096)?;
    let payload = token(bytes, header, b".eyJ", is_b64url, 10, 1 << 16)?;
    if bytes.get(payload) != Some(&b'.') {
        return None;
    }
    let end = run(bytes, payload + 1, is_b64url);
    (end - payload > 16).then_some(end)
}

/// `-----BEGIN … PRIVATE KEY-----` through its `-----END … -----` line (or the end of the
/// string, when the block is cut short).
fn private_key(bytes: &[u8], i: usize) -> Option<usize> {
    let rest = &bytes[i..];
    if !rest.starts_with(b"-----BEGIN ") {
        return None;
    }
    let line_end = rest[11..].iter().position(|b| *b == b'-')? + 11;
    let label = &rest[11..line_end];
    if !label.ends_with(b"PRIVATE KEY") && !label.ends_with(b"PRIVATE KEY BLOCK") {
        return None;
    }
    if !label.iter().all(|b| b.is_ascii_uppercase() || *b == b' ') {
        return None;
    }
    let after = i + line_end;
    let end = find(&bytes[after..], b"-----END ")
        .and_then(|at| {
            let from = after + at + 9;
            find(&bytes[from..], b"-----").map(|close| from + close + 5)
        })
        .unwrap_or(bytes.len());
    Some(end)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `Bearer <token>` (the token at least 20 bytes of a token's alphabet).
fn bearer(bytes: &[u8], i: usize) -> Option<(&'static str, usize)> {
    let rest = &bytes[i..];
    if rest.len() < 7 || !rest[..7].eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let body = bearer_start(bytes, i);
    let end = run(bytes, body, |b| {
        is_b64url(b) || matches!(b, b'.' | b'~' | b'+' | b'/')
    });
    let end = end
        + bytes[end..]
            .iter()
            .take(2)
            .take_while(|b| **b == b'=')
            .count();
    let value = &bytes[body..end];
    (value.len() >= 20 && !placeholder(value) && entropy(value) >= 3.0)
        .then_some(("bearer-token", end))
}

/// `scheme://user:password@host`: the password (percent-encoded or not), unless it is a
/// placeholder.
fn url_password(bytes: &[u8], i: usize) -> Option<Hit> {
    let scheme_end = run(bytes, i, |b| {
        b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.'
    });
    if !bytes[scheme_end..].starts_with(b"://") {
        return None;
    }
    let authority = scheme_end + 3;
    let userinfo_end = run(bytes, authority, |b| {
        !matches!(
            b,
            b'@' | b'/' | b'?' | b'#' | b' ' | b'"' | b'\'' | b'<' | b'>' | b'\n'
        )
    });
    if bytes.get(userinfo_end) != Some(&b'@') {
        return None;
    }
    let colon = bytes[authority..userinfo_end]
        .iter()
        .position(|b| *b == b':')?;
    let start = authority + colon + 1;
    let password = &bytes[start..userinfo_end];
    if password.is_empty() || placeholder(password) {
        return None;
    }
    Some(hit("url-password", start, userinfo_end))
}

/// Names whose values are secrets, as parts of an identifier (lower case).
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "accesskey",
    "private_key",
    "privatekey",
    "credential",
    "auth_key",
];

/// Whether an identifier names a secret: `db_password`, `GITHUB_TOKEN`, `x-api-key`,
/// `clientSecret`, but not `max_tokens`, `token_type`, `tokenizer` or `password_hint`.
/// (`pwd` is left out: it is far more often a working directory than a password.)
pub fn secret_name(name: &str) -> bool {
    if name.len() > 64 || name.len() < 3 {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    // Every secret name holds one of these; most names hold none, and cost no more.
    if !["pass", "secret", "token", "key", "credential"]
        .iter()
        .any(|core| lower.contains(core))
    {
        return false;
    }
    const NOT: &[&str] = &[
        "tokens",
        "tokenizer",
        "token_type",
        "tokentype",
        "_hint",
        "hint",
        "_length",
        "_count",
        "_id",
        "_name",
        "_at",
        "_url",
        "_file",
        "_path",
        "expires",
        "_policy",
        "_type",
        "_reset",
        "_set",
        "_changed",
        "_required",
        "_strength",
    ];
    if NOT.iter().any(|n| lower.contains(n)) {
        return false;
    }
    SECRET_NAMES.iter().any(|n| lower.contains(n))
}

/// Whether a value is a stand-in rather than a secret: `***`, `<password>`, `${TOKEN}`,
/// `xxxx`, `changeme`, `your-api-key`, `[REDACTED]`, …
pub fn placeholder(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    let first = lower.first().copied().unwrap_or(b'*');
    if matches!(first, b'<' | b'$' | b'{' | b'[' | b'%' | b'(') {
        return true;
    }
    if lower.iter().all(|b| *b == first) {
        return true;
    }
    const WITHIN: &[&[u8]] = &[
        b"xxxx",
        b"***",
        b"...",
        b"redacted",
        b"example",
        b"placeholder",
        b"your",
        b"changeme",
        b"dummy",
        b"replace",
        b"insert",
    ];
    const WHOLE: &[&[u8]] = &[
        b"secret",
        b"password",
        b"passwd",
        b"token",
        b"apikey",
        b"null",
        b"none",
        b"undefined",
        b"hidden",
        b"masked",
        b"todo",
        b"fixme",
        b"sample",
        b"test",
        b"true",
        b"false",
    ];
    let letters: Vec<u8> = lower
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    WITHIN.iter().any(|w| find(&lower, w).is_some()) || WHOLE.contains(&letters.as_slice())
}

/// `NAME = VALUE`, `NAME: VALUE`, `"NAME": "VALUE"`, `NAME=VALUE&…` where NAME names a
/// secret: the value's byte range.
fn assignment(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let name_end = run(bytes, i, |b| {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
    });
    if name_end == i || name_end - i > 64 {
        return None;
    }
    let mut at = name_end;
    if matches!(bytes.get(at), Some(b'"' | b'\'')) {
        at += 1;
    }
    at += run(&bytes[at..], 0, |b| b == b' ' || b == b'\t');
    match bytes.get(at) {
        Some(b'=') => at += 1,
        Some(b':') => {
            at += 1;
            if bytes.get(at) == Some(&b'=') {
                at += 1;
            }
        }
        _ => return None,
    }
    // Only now, with a separator seen, is the name worth a look (prose has none).
    let name = std::str::from_utf8(&bytes[i..name_end]).ok()?;
    if !secret_name(name) {
        return None;
    }
    at += run(&bytes[at..], 0, |b| b == b' ' || b == b'\t');
    let quote = match bytes.get(at) {
        Some(q @ (b'"' | b'\'')) => {
            at += 1;
            Some(*q)
        }
        _ => None,
    };
    // A value longer than any secret is read no further (`plausible_secret` refuses it).
    let end = match quote {
        Some(q) => run_max(bytes, at, |b| b != q && b != b'\n' && b != b' ', 513),
        None => run_max(
            bytes,
            at,
            |b| {
                !b.is_ascii_whitespace()
                    && !matches!(b, b',' | b';' | b'&' | b'"' | b'\'' | b'}' | b')')
            },
            513,
        ),
    };
    let value = &bytes[at..end];
    plausible_secret(name, value).then_some((at, end))
}

/// Whether `value`, assigned to `name`, looks like a real secret.
pub fn plausible_secret(name: &str, value: &[u8]) -> bool {
    if value.is_empty() || value.len() > 512 || placeholder(value) {
        return false;
    }
    // A path or a URL is where a secret is, not the secret.
    if matches!(value[0], b'/' | b'~' | b'.') || find(value, b"://").is_some() {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    let is_password = ["pass", "pwd"].iter().any(|p| lower.contains(p));
    if is_password {
        // A password may be short and plain, but not a word-only sentence fragment.
        value.len() >= 6 && !value.iter().all(u8::is_ascii_lowercase) || value.len() >= 10
    } else {
        value.len() >= 16
            && entropy(value) >= 3.0
            && value.iter().any(u8::is_ascii_digit)
            && value.iter().any(u8::is_ascii_alphabetic)
    }
}

/// `aws_secret_access_key = …` is named more precisely than a generic secret.
fn assignment_kind(bytes: &[u8], i: usize) -> &'static str {
    let name_end = run(bytes, i, |b| {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
    });
    let name = bytes[i..name_end].to_ascii_lowercase();
    if find(&name, b"secret_access_key").is_some() || find(&name, b"secretaccesskey").is_some() {
        "aws-secret-access-key"
    } else {
        "generic-secret"
    }
}
