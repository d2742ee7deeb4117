//! The benchmark's requests and the Lampart form of its policy.
//!
//! The policy, which every engine expresses in its own language: a tool allowlist per role
//! plus argument conditions, an amount bound and a trusted-recipient list.
//!
//! * role `finance` may call `send_money` when `args.amount` (an integer) is at most 1000
//!   and `args.recipient` is a trusted payee (`acme-corp`, `globex` or `initech`);
//! * role `ops` may call `shell`;
//! * role `support` may call `read_ticket`;
//! * everything else is denied.
//!
//! A principal with several roles is allowed what any one of its roles allows.

/// The requests every engine decides, as `(name, Lampart request JSON, expected allow)`.
///
/// They cover both verdicts, the amount boundary (1000 allowed, 1001 denied), an untrusted
/// recipient, a role calling another role's tool, an unknown tool and a principal with two
/// roles.
pub const REQUESTS: &[(&str, &str, bool)] = &[
    (
        "finance-small-trusted-payment",
        r#"{"principal":{"agent":"billing-bot","roles":["finance"],"session":"s1"},"action":{"tool":"send_money","args":{"recipient":"acme-corp","amount":120}}}"#,
        true,
    ),
    (
        "finance-large-payment",
        r#"{"principal":{"agent":"billing-bot","roles":["finance"],"session":"s1"},"action":{"tool":"send_money","args":{"recipient":"globex","amount":5000}}}"#,
        false,
    ),
    (
        "finance-untrusted-recipient",
        r#"{"principal":{"agent":"billing-bot","roles":["finance"],"session":"s1"},"action":{"tool":"send_money","args":{"recipient":"mallory-ltd","amount":50}}}"#,
        false,
    ),
    (
        "support-send-money",
        r#"{"principal":{"agent":"helpdesk-bot","roles":["support"],"session":"s2"},"action":{"tool":"send_money","args":{"recipient":"acme-corp","amount":10}}}"#,
        false,
    ),
    (
        "ops-shell",
        r#"{"principal":{"agent":"ops-bot","roles":["ops"],"session":"s3"},"action":{"tool":"shell","args":{"command":"ls -la /var/log"}}}"#,
        true,
    ),
    (
        "support-read-ticket",
        r#"{"principal":{"agent":"helpdesk-bot","roles":["support"],"session":"s2"},"action":{"tool":"read_ticket","args":{"id":"T-1042"}}}"#,
        true,
    ),
    (
        "unknown-tool",
        r#"{"principal":{"agent":"ops-bot","roles":["ops"],"session":"s3"},"action":{"tool":"delete_database","args":{"name":"prod"}}}"#,
        false,
    ),
    (
        "two-roles-boundary-payment",
        r#"{"principal":{"agent":"hybrid-bot","roles":["support","finance"],"session":"s4"},"action":{"tool":"send_money","args":{"recipient":"initech","amount":1000}}}"#,
        true,
    ),
    (
        "finance-just-over-bound",
        r#"{"principal":{"agent":"billing-bot","roles":["finance"],"session":"s1"},"action":{"tool":"send_money","args":{"recipient":"acme-corp","amount":1001}}}"#,
        false,
    ),
    (
        "finance-missing-recipient",
        r#"{"principal":{"agent":"billing-bot","roles":["finance"],"session":"s1"},"action":{"tool":"send_money","args":{"amount":10}}}"#,
        false,
    ),
    (
        "no-roles-shell",
        r#"{"principal":{"agent":"stray-bot","roles":[],"session":"s5"},"action":{"tool":"shell","args":{"command":"ls"}}}"#,
        false,
    ),
];

/// The settings of a Lampart chain step running the `tool-rules` plugin that express the
/// policy: a complete `[step.settings]` body, with its rules, to follow a `[[step]]` table.
pub const TOOL_RULES_SETTINGS: &str = r#"[step.settings]
default = "deny"
trusted = { payees = ["acme-corp", "globex", "initech"] }

[[step.settings.rules]]
name = "finance-payments"
tools = ["send_money"]
roles = ["finance"]
effect = "allow"
when = [{ arg = "/amount", max = 1000 }, { arg = "/recipient", trusted = "payees" }]

[[step.settings.rules]]
name = "ops-shell"
tools = ["shell"]
roles = ["ops"]
effect = "allow"

[[step.settings.rules]]
name = "support-tickets"
tools = ["read_ticket"]
roles = ["support"]
effect = "allow"
"#;
