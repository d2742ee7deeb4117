//! Unpadded URL-safe base64 (RFC 4648 §5), as used by API keys and JWT segments.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `bytes` as unpadded URL-safe base64.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let digits = chunk.len() + 1;
        for i in 0..digits {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// The value of one URL-safe base64 digit.
fn value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Whether every byte of `text` is a URL-safe base64 digit.
pub fn is_alphabet(text: &[u8]) -> bool {
    text.iter().all(|&c| value(c).is_some())
}

/// Decodes unpadded URL-safe base64; `None` for any other character, a length that no byte
/// string encodes to, or non-zero trailing bits (so that each byte string has one encoding).
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let len = chunk.len() - 1;
        // The bits after the last whole byte must be zero.
        let rest = match len {
            1 => n & 0xffff,
            2 => n & 0xff,
            _ => 0,
        };
        if rest != 0 {
            return None;
        }
        out.extend_from_slice(&bytes[..len]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_matches_the_rfc_vectors() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg");
        assert_eq!(encode(b"fo"), "Zm8");
        assert_eq!(encode(b"foo"), "Zm9v");
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        let bytes: Vec<u8> = (0..=255).collect();
        for len in 0..40 {
            let encoded = encode(&bytes[200..200 + len]);
            assert_eq!(decode(encoded.as_bytes()).unwrap(), &bytes[200..200 + len]);
        }
        assert_eq!(encode(&[0u8; 32]).len(), 43);
    }

    #[test]
    fn refuses_other_characters_impossible_lengths_and_stray_bits() {
        assert_eq!(decode(b"Zm9v="), None);
        assert_eq!(decode(b"Zm+v"), None);
        assert_eq!(decode(b"Zm9vY"), None);
        assert_eq!(decode(b"Zh"), None);
        assert_eq!(decode(b"Zg").unwrap(), b"f");
    }
}
