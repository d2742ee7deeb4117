//! URLs and e-mail domains in text, the kind of address a host is, and data carried in a
//! URL.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A URL found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url<'a> {
    /// The host, lower case, without a trailing dot or IPv6 brackets.
    pub host: String,
    /// The path, from its `/` (may be empty).
    pub path: &'a str,
    /// The query, after `?` (may be empty).
    pub query: &'a str,
}

fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\')
}

/// Every `scheme://authority…` URL in `text` (not `file:`).
pub fn urls(text: &str) -> Vec<Url<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let sep = from + found;
        from = sep + 3;
        let scheme_start = bytes[..sep]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
            .map_or(0, |p| p + 1);
        let scheme = &text[scheme_start..sep];
        if scheme.is_empty()
            || !scheme.as_bytes()[0].is_ascii_alphabetic()
            || scheme.eq_ignore_ascii_case("file")
        {
            continue;
        }
        let start = sep + 3;
        let mut end = start + bytes[start..].iter().take_while(|b| !ends_url(**b)).count();
        // Punctuation that ends a sentence or a markdown link is not part of the URL.
        while end > start
            && matches!(
                bytes[end - 1],
                b'.' | b',' | b';' | b':' | b')' | b']' | b'!' | b'?'
            )
        {
            end -= 1;
        }
        let rest = &text[start..end];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if let Some(v6) = host_port.strip_prefix('[') {
            v6.split(']').next().unwrap_or_default()
        } else {
            host_port.split(':').next().unwrap_or_default()
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            continue;
        }
        let after = &rest[authority_end..];
        let (before_fragment, _) = after.split_once('#').unwrap_or((after, ""));
        let (path, query) = before_fragment
            .split_once('?')
            .unwrap_or((before_fragment, ""));
        out.push(Url { host, path, query });
        from = end.max(from);
    }
    out
}

/// The domains of the e-mail addresses in `text`, lower case.
pub fn email_domains(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    // At most 256 addresses per string: each costs a look back for an enclosing URL.
    for (at, _) in text.match_indices('@').take(256) {
        let local = bytes[..at]
            .iter()
            .rev()
            .take_while(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
            })
            .count();
        if local == 0 {
            continue;
        }
        let domain: String = text[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect();
        let domain = domain.trim_end_matches(['.', '-']).to_ascii_lowercase();
        let tld_ok = domain
            .rsplit_once('.')
            .is_some_and(|(_, tld)| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
        // `user@host` inside a URL is that URL's host, checked as such.
        let in_url = text[..at]
            .rfind("://")
            .is_some_and(|p| !text[p..at].contains(char::is_whitespace));
        if tld_ok && !in_url && !out.contains(&domain) {
            out.push(domain);
        }
    }
    out
}

/// What kind of address a host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// A name that is not an internal one.
    Name,
    /// A public IP address.
    PublicIp,
    /// Loopback, private, link-local, unspecified or shared address space, or an internal
    /// name (`localhost`, `*.internal`, `*.local`).
    Internal,
}

fn v4_internal(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || a == 0
        || (a == 100 && (64..=127).contains(&b))
}

/// The kind of address `host` is (lower case). Numeric forms that resolvers accept
/// (`2130706433`, `0x7f000001`) count as the addresses they are.
pub fn address_kind(host: &str) -> AddressKind {
    let ip_kind = |internal: bool| {
        if internal {
            AddressKind::Internal
        } else {
            AddressKind::PublicIp
        }
    };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip_kind(v4_internal(ip));
    }
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        let first = ip.segments()[0];
        let internal = ip.is_loopback()
            || ip.is_unspecified()
            || (first & 0xfe00) == 0xfc00
            || (first & 0xffc0) == 0xfe80
            || ip.to_ipv4_mapped().is_some_and(v4_internal);
        return ip_kind(internal);
    }
    let numeric = if let Some(hex) = host.strip_prefix("0x") {
        u32::from_str_radix(hex, 16).ok()
    } else if host.bytes().all(|b| b.is_ascii_digit()) {
        host.parse::<u32>().ok()
    } else {
        None
    };
    if let Some(n) = numeric {
        return ip_kind(v4_internal(Ipv4Addr::from(n)));
    }
    let internal_name = host == "localhost"
        || [".localhost", ".internal", ".local", ".lan", ".intranet"]
            .iter()
            .any(|suffix| host.ends_with(suffix));
    if internal_name {
        AddressKind::Internal
    } else {
        AddressKind::Name
    }
}

/// Shannon entropy, bits per character.
pub fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[usize::from(b)] += 1;
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

fn encoded(value: &str) -> bool {
    value.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-' | b'%' | b'.')
    })
}

/// Why `url` looks like it carries data out, if it does.
pub fn smuggled(url: &Url<'_>) -> Option<String> {
    if url.query.len() > 1024 {
        return Some(format!("a query of {} bytes", url.query.len()));
    }
    let values = url
        .query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(_, v)| v));
    let segments = url.path.split('/');
    for value in values {
        if value.len() >= 64 && encoded(value) {
            return Some(format!("an encoded query value of {} bytes", value.len()));
        }
        if value.len() >= 24 && encoded(value) && entropy(value) >= 4.0 {
            return Some(format!(
                "a random-looking query value of {} bytes",
                value.len()
            ));
        }
    }
    for segment in segments {
        if segment.len() >= 64 && encoded(segment) {
            return Some(format!(
                "an encoded path segment of {} bytes",
                segment.len()
            ));
        }
    }
    None
}
