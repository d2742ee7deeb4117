//! Finding personal data in one string. Every number-shaped kind is checked the way its
//! issuer checks it (Luhn for cards, ISO 7064 mod 97 for IBANs, the check letter of Spanish
//! and Italian identifiers, the allocation rules of US and UK numbers), so that order
//! numbers, dates, amounts and ids are not taken for personal data.

use lampart_sdk::Severity;

/// One piece of personal data found in a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// What kind: the rule is `pii.<kind>`.
    pub kind: &'static str,
    /// Byte range in the string.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
}

/// Every kind, with its severity and a description for people.
pub const KINDS: &[(&str, Severity, &str)] = &[
    ("email", Severity::Medium, "an e-mail address"),
    ("phone", Severity::Medium, "a phone number"),
    ("iban", Severity::High, "an IBAN"),
    ("payment-card", Severity::High, "a payment card number"),
    ("us-ssn", Severity::High, "a US social security number"),
    ("uk-nino", Severity::High, "a UK national insurance number"),
    ("es-dni", Severity::High, "a Spanish DNI or NIE"),
    (
        "it-codice-fiscale",
        Severity::High,
        "an Italian codice fiscale",
    ),
];

/// The severity and description of `kind`.
pub fn describe(kind: &str) -> (Severity, &'static str) {
    KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, s, d)| (*s, *d))
        .unwrap_or((Severity::Medium, "personal data"))
}

/// Every piece of personal data in `text`, in order, without overlaps.
pub fn scan(text: &str) -> Vec<Hit> {
    let bytes = text.as_bytes();
    let mut hits = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let found = if boundary { at(bytes, i) } else { None };
        match found {
            Some((kind, start, end)) if start >= hits.last().map_or(0, |h: &Hit| h.end) => {
                hits.push(Hit { kind, start, end });
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    hits
}

/// The personal data starting at `i` (or, for an e-mail address, around the `@` found
/// from `i`).
fn at(bytes: &[u8], i: usize) -> Option<(&'static str, usize, usize)> {
    let b = bytes[i];
    if b.is_ascii_digit() {
        let numeric = card(bytes, i)
            .map(|e| ("payment-card", e))
            .or_else(|| ssn(bytes, i).map(|e| ("us-ssn", e)))
            .or_else(|| dni(bytes, i).map(|e| ("es-dni", e)))
            .or_else(|| nanp(bytes, i).map(|e| ("phone", e)));
        if let Some((kind, end)) = numeric {
            return Some((kind, i, end));
        }
    }
    if b == b'+' || b == b'(' {
        return phone(bytes, i).map(|e| ("phone", i, e));
    }
    if b.is_ascii_alphabetic() {
        let shaped = iban(bytes, i)
            .map(|e| ("iban", e))
            .or_else(|| nino(bytes, i).map(|e| ("uk-nino", e)))
            .or_else(|| nie(bytes, i).map(|e| ("es-dni", e)))
            .or_else(|| codice_fiscale(bytes, i).map(|e| ("it-codice-fiscale", e)));
        if let Some((kind, end)) = shaped {
            return Some((kind, i, end));
        }
    }
    if is_local(b) {
        return email(bytes, i).map(|(s, e)| ("email", s, e));
    }
    None
}

fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn ends_word(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric())
}

/// `local@domain.tld`, the local part starting at `i`.
fn email(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let local_end = i + bytes[i..]
        .iter()
        .take(64)
        .take_while(|b| is_local(**b))
        .count();
    if bytes.get(local_end) != Some(&b'@') || local_end == i {
        return None;
    }
    let local = &bytes[i..local_end];
    if local[0] == b'.' || local[local.len() - 1] == b'.' {
        return None;
    }
    let domain_start = local_end + 1;
    let mut end = domain_start
        + bytes[domain_start..]
            .iter()
            .take(253)
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.' || **b == b'-')
            .count();
    while end > domain_start && matches!(bytes[end - 1], b'.' | b'-') {
        end -= 1;
    }
    // `git@github.com:org/repo.git` is an SSH remote, not an address.
    if bytes.get(end) == Some(&b':') && bytes.get(end + 1).is_some_and(|b| !b.is_ascii_whitespace())
    {
        return None;
    }
    let domain = &bytes[domain_start..end];
    let dot = domain.iter().rposition(|b| *b == b'.')?;
    let tld = &domain[dot + 1..];
    let labels_ok = domain
        .split(|b| *b == b'.')
        .all(|l| !l.is_empty() && l[0] != b'-' && l[l.len() - 1] != b'-');
    (tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) && labels_ok).then_some((i, end))
}

/// Digits from `i` with single spaces or dashes between groups: the end of each prefix
/// that ends on a digit, with its digits.
fn digit_run(bytes: &[u8], i: usize, max_digits: usize) -> Vec<(usize, u64, usize)> {
    let mut out = Vec::new();
    let mut value: u64 = 0;
    let mut digits = 0;
    let mut j = i;
    while j < bytes.len() && digits < max_digits {
        let b = bytes[j];
        if b.is_ascii_digit() {
            value = value.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            digits += 1;
            j += 1;
            out.push((j, value, digits));
        } else if matches!(b, b' ' | b'-')
            && bytes.get(j + 1).is_some_and(u8::is_ascii_digit)
            && bytes[j - 1].is_ascii_digit()
        {
            j += 1;
        } else {
            break;
        }
    }
    out
}

fn digits_of(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0')
        .collect()
}

/// Whether `digits` pass the Luhn check.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(n, d)| {
            let d = u32::from(*d);
            if n % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card number: 13 to 19 digits (grouped by spaces or dashes, or not), of a known
/// network's prefix and length, passing Luhn.
fn card(bytes: &[u8], i: usize) -> Option<usize> {
    let prefixes = digit_run(bytes, i, 19);
    prefixes
        .iter()
        .rev()
        .filter(|(_, _, n)| (13..=19).contains(n))
        .find(|(end, _, n)| {
            if !ends_word(bytes, *end) || bytes.get(*end).is_some_and(|b| *b == b'-') {
                return false;
            }
            let digits = digits_of(&bytes[i..*end]);
            network_length(&digits, *n) && luhn(&digits)
        })
        .map(|(end, _, _)| *end)
}

/// Whether the prefix and length are a card network's.
fn network_length(digits: &[u8], len: usize) -> bool {
    let prefix = |n: usize| {
        digits
            .iter()
            .take(n)
            .fold(0u32, |acc, d| acc * 10 + u32::from(*d))
    };
    match digits[0] {
        4 => matches!(len, 13 | 16 | 19),                     // Visa
        5 => (51..=55).contains(&prefix(2)) && len == 16,     // Mastercard
        2 => (2221..=2720).contains(&prefix(4)) && len == 16, // Mastercard
        3 => {
            (matches!(prefix(2), 34 | 37) && len == 15)                        // Amex
                || ((3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len)) // JCB
                || (matches!(prefix(2), 36 | 38 | 39 | 30) && (14..=19).contains(&len)) // Diners
        }
        6 => {
            (prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)))
                && (16..=19).contains(&len)                                    // Discover
                || (prefix(2) == 62 && (16..=19).contains(&len)) // UnionPay
        }
        _ => false,
    }
}

/// `AAA-GG-SSSS`, dashed, with the area, group and serial numbers ever issued.
fn ssn(bytes: &[u8], i: usize) -> Option<usize> {
    let s = bytes.get(i..i + 11)?;
    let shape = s.iter().enumerate().all(|(n, b)| match n {
        3 | 6 => *b == b'-',
        _ => b.is_ascii_digit(),
    });
    if !shape || !ends_word(bytes, i + 11) || bytes.get(i + 11) == Some(&b'-') {
        return None;
    }
    let area = &s[0..3];
    let valid = area != b"000"
        && area != b"666"
        && area[0] != b'9'
        && &s[4..6] != b"00"
        && &s[7..11] != b"0000";
    valid.then_some(i + 11)
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// A DNI: 8 digits and their check letter (`12345678Z`, also `12345678-Z`).
fn dni(bytes: &[u8], i: usize) -> Option<usize> {
    let digits = bytes.get(i..i + 8)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut at = i + 8;
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    let letter = bytes.get(at)?.to_ascii_uppercase();
    let n: u32 = digits
        .iter()
        .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
    (DNI_LETTERS[(n % 23) as usize] == letter && ends_word(bytes, at + 1)).then_some(at + 1)
}

/// An NIE: `X`, `Y` or `Z`, 7 digits and the check letter.
fn nie(bytes: &[u8], i: usize) -> Option<usize> {
    let lead = match bytes[i] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        _ => return None,
    };
    let digits = bytes.get(i + 1..i + 8)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut at = i + 8;
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    let letter = *bytes.get(at)?;
    let n: u32 = digits
        .iter()
        .fold(lead, |acc, d| acc * 10 + u32::from(d - b'0'));
    (DNI_LETTERS[(n % 23) as usize] == letter && ends_word(bytes, at + 1)).then_some(at + 1)
}

/// A North American number with separators: `(415) 555-2671`, `415-555-2671`,
/// `415.555.2671` (area and exchange codes do not start with 0 or 1).
fn nanp(bytes: &[u8], i: usize) -> Option<usize> {
    let s = bytes.get(i..i + 12)?;
    let sep = s[3];
    let shape = matches!(sep, b'-' | b'.')
        && s[7] == sep
        && s.iter()
            .enumerate()
            .all(|(n, b)| n == 3 || n == 7 || b.is_ascii_digit());
    (shape
        && s[0] >= b'2'
        && s[4] >= b'2'
        && ends_word(bytes, i + 12)
        && !matches!(bytes.get(i + 12), Some(b'-' | b'.')))
    .then_some(i + 12)
}

/// An international number (`+44 20 7946 0958`, `+1 (415) 555-2671`) with 8 to 15 digits,
/// or a parenthesised North American one (`(415) 555-2671`).
fn phone(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes[i] == b'(' {
        let s = bytes.get(i..i + 14)?;
        let shape = s[4] == b')'
            && s[5] == b' '
            && s[9] == b'-'
            && [1, 2, 3, 6, 7, 8, 10, 11, 12, 13]
                .iter()
                .all(|n| s[*n].is_ascii_digit());
        return (shape && s[1] >= b'2' && s[6] >= b'2' && ends_word(bytes, i + 14))
            .then_some(i + 14);
    }
    if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) || bytes[i + 1] == b'0' {
        return None;
    }
    let mut j = i + 1;
    let mut digits = 0;
    let mut last_digit_end = j;
    while j < bytes.len() && j - i < 24 {
        let b = bytes[j];
        if b.is_ascii_digit() {
            digits += 1;
            j += 1;
            last_digit_end = j;
        } else if matches!(b, b' ' | b'-' | b'.' | b'(' | b')') {
            j += 1;
        } else {
            break;
        }
    }
    ((8..=15).contains(&digits) && ends_word(bytes, last_digit_end)).then_some(last_digit_end)
}

/// Lengths of IBANs by country (ISO 13616 registry, the common ones).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AT", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"CH", 21),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"EE", 20),
    (b"ES", 24),
    (b"FI", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GR", 27),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IS", 26),
    (b"IT", 27),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MT", 31),
    (b"NL", 18),
    (b"NO", 15),
    (b"PL", 28),
    (b"PT", 25),
    (b"RO", 24),
    (b"SA", 24),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"TR", 26),
    (b"UA", 29),
];

/// An IBAN, grouped by spaces or not: a known country's length, passing mod 97.
fn iban(bytes: &[u8], i: usize) -> Option<usize> {
    let country = bytes.get(i..i + 2)?;
    let length = IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_slice() == country)
        .map(|(_, n)| *n)?;
    let mut chars = Vec::with_capacity(length);
    let mut j = i;
    while j < bytes.len() && chars.len() < length {
        let b = bytes[j];
        if b.is_ascii_digit() || b.is_ascii_uppercase() {
            chars.push(b);
            j += 1;
        } else if b == b' ' && bytes.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) {
            j += 1;
        } else {
            break;
        }
    }
    if chars.len() != length || !chars[2].is_ascii_digit() || !chars[3].is_ascii_digit() {
        return None;
    }
    if !ends_word(bytes, j) {
        return None;
    }
    // Move the first four characters to the end; letters count as 10..35.
    let mut remainder: u32 = 0;
    for b in chars[4..].iter().chain(&chars[..4]) {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    (remainder == 1).then_some(j)
}

/// A UK National Insurance number: two letters of the allowed prefixes, six digits (paired
/// by spaces or not), and a suffix `A`–`D`.
fn nino(bytes: &[u8], i: usize) -> Option<usize> {
    let (a, b) = (*bytes.get(i)?, *bytes.get(i + 1)?);
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    if b"DFIQUV".contains(&a) || b"DFIOQUV".contains(&b) {
        return None;
    }
    if [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"]
        .iter()
        .any(|p| p.as_slice() == [a, b])
    {
        return None;
    }
    let mut j = i + 2;
    let spaced = bytes.get(j) == Some(&b' ');
    let mut digits = 0;
    while digits < 6 {
        if spaced && digits % 2 == 0 {
            if bytes.get(j) != Some(&b' ') {
                return None;
            }
            j += 1;
        }
        if !bytes.get(j).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        digits += 1;
        j += 1;
    }
    if spaced {
        if bytes.get(j) != Some(&b' ') {
            return None;
        }
        j += 1;
    }
    let suffix = *bytes.get(j)?;
    (b"ABCD".contains(&suffix) && ends_word(bytes, j + 1)).then_some(j + 1)
}

/// An Italian codice fiscale: `RSSMRA85T10A562S`, its last letter checked.
fn codice_fiscale(bytes: &[u8], i: usize) -> Option<usize> {
    let s = bytes.get(i..i + 16)?;
    let letter = |n: usize| s[n].is_ascii_uppercase();
    let digit = |n: usize| s[n].is_ascii_digit();
    let shape = (0..6).all(letter)
        && digit(6)
        && digit(7)
        && b"ABCDEHLMPRST".contains(&s[8])
        && digit(9)
        && digit(10)
        && letter(11)
        && (12..15).all(digit)
        && letter(15);
    if !shape || !ends_word(bytes, i + 16) {
        return None;
    }
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let sum: u32 = s[..15]
        .iter()
        .enumerate()
        .map(|(n, b)| {
            let index = if b.is_ascii_digit() {
                usize::from(b - b'0')
            } else {
                usize::from(b - b'A')
            };
            // Positions 1, 3, 5, … (0, 2, 4, … here) use the odd table.
            if n % 2 == 0 { ODD[index] } else { index as u32 }
        })
        .sum();
    (s[15] == b'A' + (sum % 26) as u8).then_some(i + 16)
}
