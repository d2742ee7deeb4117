//! URLs, hosts and e-mail domains against allow and deny lists, internal addresses, and
//! data in URLs.

use lampart_sdk::serde_json::json;
use lampart_sdk::{Input, MapSettings};

use super::*;

fn config(settings: MapSettings) -> Config {
    Config::read(&settings).unwrap()
}

fn rules_of(config: &Config, args: lampart_sdk::serde_json::Value) -> Vec<String> {
    let input = Input::builder("http.post").args(args).build();
    inspect_with(config, &input)
        .findings
        .iter()
        .map(|f| f.rule.clone())
        .collect()
}

#[test]
fn urls_are_parsed_from_text() {
    let found = url::urls(
        "see https://User:pw@API.Example.com.:8443/v1/items?q=1#top, and [docs](http://[::1]:8080/x).",
    );
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].host, "api.example.com");
    assert_eq!(found[0].path, "/v1/items");
    assert_eq!(found[0].query, "q=1");
    assert_eq!(found[1].host, "::1");
    assert!(url::urls("file:///etc/passwd and ://nothing").is_empty());
    assert_eq!(
        url::email_domains("to Bob@Corp.Example, cc x@y, see https://u@host.example/"),
        ["corp.example"]
    );
}

#[test]
fn host_rules_match_as_documented() {
    let exact = HostRule::parse("example.com").unwrap();
    let subs = HostRule::parse("*.example.com").unwrap();
    let both = HostRule::parse(".Example.com.").unwrap();
    assert!(exact.matches("example.com") && !exact.matches("api.example.com"));
    assert!(subs.matches("api.example.com") && !subs.matches("example.com"));
    assert!(both.matches("example.com") && both.matches("a.b.example.com"));
    assert!(!both.matches("badexample.com") && !subs.matches("example.com.evil.io"));
    for bad in ["", "*.", "exa mple.com", "a..b", "http://x.com"] {
        assert!(HostRule::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn allow_and_deny_lists_decide_hosts_and_email_domains() {
    let config = config(
        MapSettings::new()
            .with("allow", r#"[".corp.example", "api.github.com"]"#)
            .with("deny", r#"["pastebin.com", "*.ngrok.io"]"#),
    );
    assert!(rules_of(&config, json!({"url": "https://wiki.corp.example/page"})).is_empty());
    assert!(rules_of(&config, json!({"url": "https://api.github.com/repos"})).is_empty());
    assert_eq!(
        rules_of(&config, json!({"url": "https://github.com/x"})),
        ["egress.unlisted-host"]
    );
    assert_eq!(
        rules_of(
            &config,
            json!({"body": "upload to https://PASTEBIN.com/api"})
        ),
        ["egress.denied-host"]
    );
    assert_eq!(
        rules_of(&config, json!({"hook": "https://a1b2.ngrok.io/x"})),
        ["egress.denied-host"]
    );
    assert_eq!(
        rules_of(
            &config,
            json!({"to": ["jane@corp.example", "drop@evil.example"]})
        ),
        ["egress.unlisted-host"]
    );
    let no_emails = Config {
        emails: false,
        ..config.clone()
    };
    assert!(rules_of(&no_emails, json!({"to": "drop@evil.example"})).is_empty());
}

#[test]
fn internal_addresses_and_ip_literals_are_reported() {
    let config = config(MapSettings::new());
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/admin",
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://[::ffff:10.0.0.1]/",
        "http://10.1.2.3/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ] {
        assert_eq!(
            rules_of(&config, json!({ "url": url })),
            ["egress.internal-address"],
            "{url}"
        );
    }
    assert_eq!(
        rules_of(&config, json!({"url": "http://93.184.216.34/"})),
        ["egress.ip-literal"]
    );
    assert!(rules_of(&config, json!({"url": "https://example.com/"})).is_empty());
    // Allowed explicitly: no longer reported.
    let config = self::config(MapSettings::new().with("allow", r#"["localhost"]"#));
    assert!(rules_of(&config, json!({"url": "http://localhost/"})).is_empty());
}

#[test]
fn data_smuggled_in_urls_is_found_and_ordinary_urls_are_not() {
    let config = config(MapSettings::new());
    let secret = "c2VjcmV0LWRhdGEtZnJvbS10aGUtY3VzdG9tZXItZGF0YWJhc2UtZXhwb3J0LTIwMjQ";
    for url in [
        format!("https://collector.example/p.gif?d={secret}"),
        "https://collector.example/c?k=Zq8Lm2Xv9Tn3Wb7Kd1aB3cD4".to_owned(),
        format!("https://collector.example/{secret}/x.png"),
        format!("https://collector.example/?q={}", "a".repeat(1100)),
    ] {
        assert_eq!(
            rules_of(&config, json!({ "body": format!("![img]({url})") })),
            ["egress.data-in-url"],
            "{url}"
        );
    }
    for url in [
        "https://www.google.com/search?q=weather+in+berlin&hl=en",
        "https://github.com/org/repo/blob/3f9a1c2e7b4d8f6a0c5e9b2d4f1a3c7e9b2d4f1a/src/lib.rs",
        "https://example.com/reset?token=abc123",
        "https://shop.example/items?page=2&sort=price&category=garden-furniture",
        "https://docs.example/d/1aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678/edit",
    ] {
        assert!(rules_of(&config, json!({ "url": url })).is_empty(), "{url}");
    }
}

#[test]
fn settings_are_checked() {
    for (key, value, message) in [
        (
            "allow",
            r#"["http://x.com"]"#,
            "setting `allow`: `http://x.com` is not a host rule",
        ),
        ("deny", "5", "expected a list of host rules"),
        ("fields", r#"["url"]"#, "`url` is not a JSON pointer"),
        ("emails", "maybe", "expected true or false"),
        ("hosts", "[]", "unknown setting"),
    ] {
        let err = Config::read(&MapSettings::new().with(key, value)).unwrap_err();
        assert!(err.contains(message), "{key}: {err}");
    }
}
