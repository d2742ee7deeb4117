//! The corpus: every kind found in realistic text with its check, near misses refused, and
//! realistic text with no personal data.

use lampart_sdk::serde_json::json;
use lampart_sdk::{Input, MapSettings, Phase, Severity};

use super::*;

/// Each text holds exactly one item, `value`, of `kind`.
const POSITIVES: &[(&str, &str, &str)] = &[
    (
        "email",
        "Contact jane.doe+billing@mail.example.co.uk for invoices.",
        "jane.doe+billing@mail.example.co.uk",
    ),
    ("email", "from: 42ops@corp.example", "42ops@corp.example"),
    (
        "phone",
        "Call +44 20 7946 0958 after 5pm",
        "+44 20 7946 0958",
    ),
    ("phone", "mobile +1 (415) 555-2671.", "+1 (415) 555-2671"),
    ("phone", "office (415) 555-2671", "(415) 555-2671"),
    ("phone", "fax 415-555-2671", "415-555-2671"),
    (
        "iban",
        "Pay to DE89 3704 0044 0532 0130 00 by Friday",
        "DE89 3704 0044 0532 0130 00",
    ),
    (
        "iban",
        "IBAN:GB82WEST12345698765432",
        "GB82WEST12345698765432",
    ),
    (
        "payment-card",
        "card 4111 1111 1111 1111 exp 12/29",
        "4111 1111 1111 1111",
    ),
    ("payment-card", "amex 378282246310005", "378282246310005"),
    (
        "payment-card",
        "mc 5555-5555-5555-4444",
        "5555-5555-5555-4444",
    ),
    ("us-ssn", "SSN 123-45-6789 on file", "123-45-6789"),
    ("uk-nino", "NI number: AB 12 34 56 C", "AB 12 34 56 C"),
    ("uk-nino", "nino AB123456D.", "AB123456D"),
    ("es-dni", "DNI 12345678Z", "12345678Z"),
    ("es-dni", "NIE X1234567L", "X1234567L"),
    (
        "it-codice-fiscale",
        "CF: RSSMRA85T10A562S",
        "RSSMRA85T10A562S",
    ),
];

#[test]
fn every_kind_is_found_with_its_exact_extent() {
    for (kind, text, value) in POSITIVES {
        let hits = scan(text);
        assert_eq!(hits.len(), 1, "{text}: {hits:?}");
        assert_eq!(hits[0].kind, *kind, "{text}");
        assert_eq!(&text[hits[0].start..hits[0].end], *value, "{text}");
    }
    for (kind, _, _) in KINDS {
        assert!(
            POSITIVES.iter().any(|(k, _, _)| k == kind),
            "no corpus entry for `{kind}`"
        );
    }
}

/// One digit or letter off, or not a number of that kind at all.
const NEAR_MISSES: &[&str] = &[
    "card 4111 1111 1111 1112",    // Luhn fails
    "order 1234567812345678",      // no network prefix, no Luhn
    "DE89 3704 0044 0532 0130 01", // mod 97 fails
    "GB82WEST1234569876543",       // one short
    "SSN 000-12-3456",             // area never issued
    "SSN 666-12-3456",
    "ref 123-00-6789",          // group 00
    "DNI 12345678A",            // wrong check letter
    "CF: RSSMRA85T10A562T",     // wrong check letter
    "nino DA123456A",           // D is not a valid first letter
    "NI number: QQ 12 34 56 C", // HMRC's example prefix, never issued
    "+0 123 456 789",           // no country code starts with 0
    "call 123-456-7890",        // area code starts with 1
];

#[test]
fn near_misses_are_not_personal_data() {
    for text in NEAR_MISSES {
        assert!(scan(text).is_empty(), "{text}: {:?}", scan(text));
    }
}

/// Realistic text with numbers and at-signs that are not personal data.
const NEGATIVES: &[&str] = &[
    "Meeting on 2024-03-15 at 14:30, room 4.12; budget 12,500.00 EUR.",
    "Order #100234 shipped; tracking 1Z999AA10123456784.",
    "version 1.24.3, build 20240315.1, commit 3f9a1c2e",
    "Follow @lampart on social media; email us at the address on the site.",
    "git@github.com:org/repo.git",
    "temperature -12.5 to +3.5 degrees",
    "invoice INV-2024-000123, PO 4500012345",
    "uuid 550e8400-e29b-41d4-a716-446655440000",
    "The price went from 1234 to 5678 in 2023.",
    "user@localhost is not routable",
    "ISBN 978-3-16-148410-0",
    "coordinates 52.5200, 13.4050",
];

#[test]
fn benign_text_gives_nothing() {
    for text in NEGATIVES {
        assert!(scan(text).is_empty(), "{text}: {:?}", scan(text));
    }
}

fn config(settings: MapSettings) -> Config {
    Config::read(&settings).unwrap()
}

#[test]
fn answers_are_redacted_and_arguments_reported_by_default() {
    let input = Input::builder("crm.lookup")
        .phase(Phase::Response)
        .output_json(
            json!({"name": "Jane Doe", "email": "jane@corp.example", "card": "4111111111111111"}),
        )
        .build();
    let out = inspect_with(&config(MapSettings::new()), &input);
    assert_eq!(
        out.redactions,
        [
            Redaction::whole("/card", "[REDACTED:payment-card]"),
            Redaction::whole("/email", "[REDACTED:email]"),
        ]
    );
    assert!(out.findings.iter().all(|f| f.severity == Severity::Low));
    assert_eq!(out.labels, ["pii-seen"]);

    let input = Input::builder("send_email")
        .args(json!({"to": "jane@corp.example", "body": "your IBAN DE89370400440532013000 is on file"}))
        .build();
    let out = inspect_with(&config(MapSettings::new()), &input);
    assert!(out.redactions.is_empty());
    assert_eq!(out.findings.len(), 2);
    assert_eq!(out.findings[0].rule, "pii.iban");
    assert_eq!(out.findings[0].severity, Severity::High);
    assert!(out.labels.is_empty());
    // Skipping `/to`, and redacting always.
    let out = inspect_with(
        &config(
            MapSettings::new()
                .with("skip", r#"["/to"]"#)
                .with("redact", "always"),
        ),
        &input,
    );
    assert_eq!(
        out.redactions,
        [Redaction::text(
            "/body",
            "DE89370400440532013000",
            "[REDACTED:iban]"
        )]
    );
}

#[test]
fn settings_are_checked() {
    let only = config(MapSettings::new().with("kinds", r#"["iban"]"#));
    assert_eq!(only.kinds, ["iban"]);
    for (key, value, message) in [
        ("kinds", r#"["ssn"]"#, "unknown kind `ssn`"),
        ("redact", "sometimes", "not one of response, always, never"),
        ("skip", r#"["to"]"#, "`to` is not a JSON pointer"),
        ("redacted-severity", "big", "`big` is not one of"),
        ("mask", "x", "unknown setting"),
    ] {
        let err = Config::read(&MapSettings::new().with(key, value)).unwrap_err();
        assert!(err.contains(message), "{key}: {err}");
    }
}

#[test]
fn any_text_scans_without_panicking() {
    let pieces = [
        "4111", " ", "-", "1111", "+", "(", ")", "@", ".", "DE89", "GB82", "WEST", "123", "45",
        "6789", "X", "QQ", "Z", "é", "日本", "a", "co", "RSSMRA", "85T10", "A562S", "\n",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..(state % 20) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
        }
        let mut last = 0;
        for hit in scan(&text) {
            assert!(
                hit.start >= last && hit.start < hit.end,
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
