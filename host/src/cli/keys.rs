//! `lampart keys`: make API keys for `lampart serve`.

use super::Format;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use lampart::auth::{ApiKey, KeyEntry, check_name, is_valid_id};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make an API key. Prints the key on the first line (it is shown only this once and
    /// stored nowhere), then the `[[auth.key]]` entry for the config, which holds only the
    /// key's hash (in a keys file, write the table as `[[key]]`).
    New(NewArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The agent the key authenticates (optional for an operator key).
    #[arg(long)]
    agent: Option<String>,
    /// A role the agent holds; repeat for several.
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// An operator key: may call the service's admin endpoints.
    #[arg(long)]
    operator: bool,
    /// The key's id in logs and audit records (letters, digits, `.`, `_`, `-`); by default the
    /// agent's name and the start of the key's hash.
    #[arg(long)]
    id: Option<String>,
    /// `text`: the key, then the TOML entry; `json`: one JSON object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::New(args) => new(args),
    }
}

fn new(args: NewArgs) -> anyhow::Result<ExitCode> {
    if let Some(agent) = &args.agent {
        check_name(agent).map_err(|p| anyhow::anyhow!("--agent {p}"))?;
    } else if !args.operator {
        bail!("--agent is required, unless the key is an --operator key");
    }
    for role in &args.roles {
        check_name(role).map_err(|p| anyhow::anyhow!("--role {p}"))?;
    }
    if let Some(id) = &args.id
        && !is_valid_id(id)
    {
        bail!("--id must be 1 to 128 ASCII letters, digits, `.`, `_` or `-`");
    }
    let key = ApiKey::generate().context("reading the operating system's randomness")?;
    let hash = key.hash();
    let id = args
        .id
        .unwrap_or_else(|| default_id(args.agent.as_deref(), &hash));
    let entry = KeyEntry {
        id,
        hash,
        agent: args.agent,
        roles: args.roles,
        operator: args.operator,
    };
    print!("{}", render(&key, &entry, args.format)?);
    Ok(ExitCode::SUCCESS)
}

/// What `keys new` prints: the key on the first line, then the config entry; or one JSON
/// object.
fn render(key: &ApiKey, entry: &KeyEntry, format: Format) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Config<'a> {
        auth: Auth<'a>,
    }
    #[derive(Serialize)]
    struct Auth<'a> {
        key: [&'a KeyEntry; 1],
    }
    #[derive(Serialize)]
    struct Output<'a> {
        key: &'a str,
        #[serde(flatten)]
        entry: &'a KeyEntry,
    }
    Ok(match format {
        Format::Text => {
            let snippet = toml::to_string(&Config {
                auth: Auth { key: [entry] },
            })
            .context("writing the config entry")?;
            format!(
                "{}\n# The key above is shown only this once. Add this entry to the config (in a keys file, as [[key]]):\n{snippet}",
                key.as_str()
            )
        }
        Format::Json => {
            let output = Output {
                key: key.as_str(),
                entry,
            };
            format!(
                "{}\n",
                serde_json::to_string(&output).context("writing the entry")?
            )
        }
    })
}

/// `<agent>-<8 hex digits of the hash>` (or `operator-…`), or `key-…` when the agent's name
/// is not a valid id.
fn default_id(agent: Option<&str>, hash: &lampart::digest::Digest) -> String {
    let hex = hash.0.to_hex();
    let short = &hex.as_str()[..8];
    let id = format!("{}-{short}", agent.unwrap_or("operator"));
    if is_valid_id(&id) {
        id
    } else {
        format!("key-{short}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lampart::auth::{AuthSection, Authenticator, CredentialId};

    fn entry(key: &ApiKey) -> KeyEntry {
        KeyEntry {
            id: "bot-1".into(),
            hash: key.hash(),
            agent: Some("billing \"bot\"".into()),
            roles: vec!["finance".into()],
            operator: false,
        }
    }

    fn authenticate(section: &AuthSection, key: &str) -> CredentialId {
        let auth = Authenticator::load(Some(section), std::path::Path::new(".")).unwrap();
        let header = format!("Bearer {key}");
        let identity = auth
            .authenticate(Some(header.as_bytes()), std::time::SystemTime::now())
            .unwrap();
        assert_eq!(identity.agent.as_deref(), Some("billing \"bot\""));
        assert_eq!(identity.roles, ["finance"]);
        identity.credential
    }

    #[test]
    fn the_printed_entry_authenticates_the_printed_key() {
        let key = ApiKey::generate().unwrap();
        let text = render(&key, &entry(&key), Format::Text).unwrap();
        let (first, snippet) = text.split_once('\n').unwrap();
        assert_eq!(first, key.as_str());
        assert!(!snippet.contains(key.as_str()));
        #[derive(serde::Deserialize)]
        struct Config {
            auth: AuthSection,
        }
        let config: Config = toml::from_str(snippet).unwrap();
        assert_eq!(
            authenticate(&config.auth, first),
            CredentialId::Key("bot-1".into())
        );
    }

    #[test]
    fn the_json_output_holds_the_key_and_the_entry() {
        let key = ApiKey::generate().unwrap();
        let text = render(&key, &entry(&key), Format::Json).unwrap();
        assert_eq!(text.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let printed = value["key"].as_str().unwrap().to_owned();
        assert_eq!(printed, key.as_str());
        let mut object = value;
        object.as_object_mut().unwrap().remove("key");
        let section = AuthSection {
            key: vec![serde_json::from_value(object).unwrap()],
            ..AuthSection::default()
        };
        authenticate(&section, &printed);
    }

    #[test]
    fn default_ids_are_valid() {
        let hash = ApiKey::generate().unwrap().hash();
        let id = default_id(Some("billing-bot"), &hash);
        assert!(id.starts_with("billing-bot-") && is_valid_id(&id), "{id}");
        assert!(default_id(None, &hash).starts_with("operator-"));
        assert!(default_id(Some("a b"), &hash).starts_with("key-"));
    }
}
