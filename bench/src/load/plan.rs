//! What a run sends, and where: the target URL, the headers and the bodies, checked once
//! before any connection opens.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use hyper::Uri;
use hyper::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue};

use super::LoadError;

/// Where requests go: the server's address and the request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address to connect to (brackets removed from an IPv6 literal).
    pub host: String,
    /// TCP port (80 when the URL has none).
    pub port: u16,
    /// The `Host` header: the URL's authority.
    pub authority: String,
    /// Path and query sent in the request line.
    pub path: String,
}

impl Target {
    /// Reads an `http://host[:port][/path]` URL (HTTPS is not supported).
    pub fn parse(url: &str) -> Result<Target, LoadError> {
        let bad = |reason: &str| LoadError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(bad("only http:// URLs are supported")),
            None => return Err(bad("the URL needs a scheme, like http://127.0.0.1:8080/")),
        }
        let authority = uri.authority().ok_or_else(|| bad("the URL has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(bad("the URL has no host"));
        }
        Ok(Target {
            host,
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        })
    }
}

/// One `--header "name: value"` argument.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), LoadError> {
    let bad = |reason: &str| LoadError::Header {
        header: text.to_string(),
        reason: reason.to_string(),
    };
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| bad("expected `name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| bad("the name is not a valid header name"))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| bad("the value has characters a header cannot carry"))?;
    Ok((name, value))
}

/// The request bodies of a JSON Lines file: one per non-blank line, in file order.
pub fn read_bodies(path: &Path) -> Result<Vec<Bytes>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::BodyFile {
        path: path.to_path_buf(),
        source,
    })?;
    let bodies = bodies_of(&text);
    if bodies.is_empty() {
        return Err(LoadError::NoBodies {
            path: path.to_path_buf(),
        });
    }
    Ok(bodies)
}

/// The non-blank lines of `text`, trimmed, as bodies.
pub fn bodies_of(text: &str) -> Vec<Bytes> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| Bytes::copy_from_slice(line.as_bytes()))
        .collect()
}

/// Everything a run needs, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where requests go.
    pub target: Target,
    /// The request target of every request (the URL's path and query).
    pub uri: Uri,
    /// Headers of every request: `Host`, `Content-Type` and the `--header`s.
    pub headers: HeaderMap,
    /// The bodies, cycled through by every connection from its own starting line.
    pub bodies: Vec<Bytes>,
    /// How many connections, and for how long.
    pub pace: Pace,
}

/// How many connections send, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Keep-alive connections, each with one request in flight at a time.
    pub connections: usize,
    /// How long requests are measured, after the warm-up.
    pub duration: Duration,
    /// How long requests are sent, and not measured, first.
    pub warmup: Duration,
    /// How long one request may take, from sending it to the end of its answer; a request
    /// that takes longer counts as an error and its connection is replaced.
    pub timeout: Duration,
}

impl Plan {
    /// A plan, from the parts as given on the command line.
    pub fn new(
        target: Target,
        content_type: &str,
        extra_headers: Vec<(HeaderName, HeaderValue)>,
        bodies: Vec<Bytes>,
        pace: Pace,
    ) -> Result<Plan, LoadError> {
        if pace.connections == 0 {
            return Err(LoadError::BadOption {
                option: "--connections",
                reason: "must be at least 1".into(),
            });
        }
        if pace.duration.is_zero() {
            return Err(LoadError::BadOption {
                option: "--duration",
                reason: "must be longer than zero".into(),
            });
        }
        if pace.timeout.is_zero() {
            return Err(LoadError::BadOption {
                option: "--timeout",
                reason: "must be longer than zero".into(),
            });
        }
        if bodies.is_empty() {
            return Err(LoadError::BadOption {
                option: "--body-file",
                reason: "there are no bodies to send".into(),
            });
        }
        let uri: Uri = target.path.parse().map_err(|_| LoadError::Url {
            url: target.path.clone(),
            reason: "the path cannot be sent as a request target".into(),
        })?;
        let mut headers = HeaderMap::new();
        let host = HeaderValue::from_str(&target.authority).map_err(|_| LoadError::Url {
            url: target.authority.clone(),
            reason: "the host cannot be sent as a Host header".into(),
        })?;
        headers.insert(HOST, host);
        let content_type =
            HeaderValue::from_str(content_type).map_err(|_| LoadError::BadOption {
                option: "--content-type",
                reason: format!("`{content_type}` cannot be sent as a header value"),
            })?;
        headers.insert(CONTENT_TYPE, content_type);
        for (name, value) in extra_headers {
            headers.append(name, value);
        }
        Ok(Plan {
            target,
            uri,
            headers,
            bodies,
            pace,
        })
    }

    /// The line connection `connection` starts at: its index, modulo the number of bodies.
    pub fn first_line(&self, connection: usize) -> usize {
        connection % self.bodies.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_and_path() {
        let target = Target::parse("http://127.0.0.1:7766/v1/decide").expect("url");
        assert_eq!(target.host, "127.0.0.1");
        assert_eq!(target.port, 7766);
        assert_eq!(target.authority, "127.0.0.1:7766");
        assert_eq!(target.path, "/v1/decide");
        let target = Target::parse("http://[::1]/").expect("url");
        assert_eq!((target.host.as_str(), target.port), ("::1", 80));
        let target = Target::parse("http://localhost:1").expect("url");
        assert_eq!(target.path, "/");
    }

    #[test]
    fn urls_without_http_are_refused() {
        for url in [
            "https://127.0.0.1/",
            "127.0.0.1:80",
            "not a url",
            "/v1/decide",
        ] {
            let err = Target::parse(url).expect_err(url);
            assert!(err.to_string().contains(url), "{err}");
        }
    }

    #[test]
    fn headers_split_at_the_first_colon() {
        let (name, value) = parse_header("Authorization: Bearer a:b").expect("header");
        assert_eq!(name.as_str(), "authorization");
        assert_eq!(value, "Bearer a:b");
        let err = parse_header("no colon").expect_err("no colon");
        assert!(err.to_string().contains("`no colon`"), "{err}");
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn bodies_are_the_non_blank_lines() {
        let bodies = bodies_of("{\"a\":1}\n\n  {\"b\":2}  \r\n");
        assert_eq!(
            bodies,
            vec![Bytes::from("{\"a\":1}"), Bytes::from("{\"b\":2}")]
        );
    }

    #[test]
    fn connections_start_at_their_own_line() {
        let target = Target::parse("http://127.0.0.1:9/").expect("url");
        let plan = Plan::new(
            target,
            "application/json",
            Vec::new(),
            bodies_of("1\n2\n3"),
            Pace {
                connections: 5,
                duration: Duration::from_secs(1),
                warmup: Duration::ZERO,
                timeout: Duration::from_secs(1),
            },
        )
        .expect("plan");
        let lines: Vec<usize> = (0..5).map(|c| plan.first_line(c)).collect();
        assert_eq!(lines, [0, 1, 2, 0, 1]);
        assert_eq!(plan.headers[HOST], "127.0.0.1:9");
    }
}
