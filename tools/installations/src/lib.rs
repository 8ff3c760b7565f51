//! The `installations` admin command: the app installations the sidebar serves in table mode
//! (`ZAF_INSTALLATIONS=table`), kept in its DynamoDB table (`SIDEBAR_TABLE`).
//!
//! ```text
//! installations [--table TABLE] list [--json]
//! installations [--table TABLE] add SUBDOMAIN INSTALLATION_ID [--name NAME] [--settings JSON] [--disabled]
//! installations [--table TABLE] enable SUBDOMAIN INSTALLATION_ID
//! installations [--table TABLE] disable SUBDOMAIN INSTALLATION_ID
//! installations [--table TABLE] settings SUBDOMAIN INSTALLATION_ID JSON
//! installations [--table TABLE] rename SUBDOMAIN INSTALLATION_ID NAME
//! installations [--table TABLE] purge SUBDOMAIN INSTALLATION_ID
//! ```
//!
//! The table is `--table` or `$SIDEBAR_TABLE`. AWS access is the standard chain (environment,
//! profile, SSO, ...); `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local. Every change is
//! one conditional write (see [`sidebar::admin`]); the sidebar sees it within its
//! `INSTALLATION_CACHE_SECONDS`.

use serde_json::{Map, Value, json};
use sidebar::admin::{AdminError, InstallationAdmin, ListedInstallation};
use sidebar::store::InstallationRecord;
use zendesk_jwt::ZafInstallation;

/// How to call the command.
pub const USAGE: &str = "\
usage: installations [--table TABLE] COMMAND
  list [--json]                                   every installation in the table
  add SUBDOMAIN INSTALLATION_ID [--name NAME] [--settings JSON] [--disabled]
                                                  add one (enabled unless --disabled)
  enable SUBDOMAIN INSTALLATION_ID                serve it again
  disable SUBDOMAIN INSTALLATION_ID               stop serving it (pages 403 within a minute)
  settings SUBDOMAIN INSTALLATION_ID JSON         replace its settings (a JSON object)
  rename SUBDOMAIN INSTALLATION_ID NAME           change its display name
  purge SUBDOMAIN INSTALLATION_ID                 delete a disabled installation and all its data
                                                  (its notes, their count, its record)
The table is --table or $SIDEBAR_TABLE; AWS access is the standard credential chain, and
AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local. SUBDOMAIN is `acme` for acme.zendesk.com;
INSTALLATION_ID is the app installation's id.";

/// One parsed command line.
#[derive(Debug, PartialEq)]
pub struct Invocation {
    /// `--table`, if given (else `$SIDEBAR_TABLE`).
    pub table: Option<String>,
    /// What to do.
    pub command: Command,
}

/// What to do.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// List every installation (as JSON with `json`).
    List {
        /// `--json`.
        json: bool,
    },
    /// Add one.
    Add {
        /// Which one.
        installation: ZafInstallation,
        /// Its record.
        record: InstallationRecord,
    },
    /// Enable or disable one.
    SetEnabled {
        /// Which one.
        installation: ZafInstallation,
        /// Enable (`true`) or disable.
        enabled: bool,
    },
    /// Replace one's settings.
    Settings {
        /// Which one.
        installation: ZafInstallation,
        /// The new settings.
        settings: Map<String, Value>,
    },
    /// Rename one.
    Rename {
        /// Which one.
        installation: ZafInstallation,
        /// The new name.
        name: String,
    },
    /// Delete a disabled one and everything it has in the table.
    Purge {
        /// Which one.
        installation: ZafInstallation,
    },
}

/// The installation two arguments name: a subdomain (any case) and a positive id.
fn installation(subdomain: &str, id: &str) -> Result<ZafInstallation, String> {
    let subdomain = subdomain.to_ascii_lowercase();
    match id.parse::<u64>() {
        Ok(id) => ZafInstallation::new(subdomain, id).map_err(|problem| problem.to_string()),
        _ => Err(format!(
            "{id:?} is not an installation id (a positive number)"
        )),
    }
}

fn settings(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the settings must be a JSON object, like {\"greeting\": \"Hi\"}".into()),
        Err(error) => Err(format!("the settings are not JSON: {error}")),
    }
}

/// Parse the arguments (without the program name).
pub fn parse(args: &[&str]) -> Result<Invocation, String> {
    let (table, rest) = match args {
        ["--table", table, rest @ ..] => (Some((*table).to_owned()), rest),
        rest => (None, rest),
    };
    let command = match rest {
        ["list"] => Command::List { json: false },
        ["list", "--json"] => Command::List { json: true },
        ["add", subdomain, id, options @ ..] => {
            let mut record = InstallationRecord {
                enabled: true,
                name: String::new(),
                settings: Map::new(),
            };
            let mut options = options.iter();
            while let Some(option) = options.next() {
                match *option {
                    "--disabled" => record.enabled = false,
                    "--name" => {
                        record.name = options.next().ok_or("--name needs a value")?.to_string()
                    }
                    "--settings" => {
                        record.settings =
                            settings(options.next().ok_or("--settings needs a value")?)?
                    }
                    other => return Err(format!("unknown option {other:?}\n{USAGE}")),
                }
            }
            Command::Add {
                installation: installation(subdomain, id)?,
                record,
            }
        }
        [verb @ ("enable" | "disable"), subdomain, id] => Command::SetEnabled {
            installation: installation(subdomain, id)?,
            enabled: *verb == "enable",
        },
        ["settings", subdomain, id, json] => Command::Settings {
            installation: installation(subdomain, id)?,
            settings: settings(json)?,
        },
        ["rename", subdomain, id, name] => Command::Rename {
            installation: installation(subdomain, id)?,
            name: (*name).to_owned(),
        },
        ["purge", subdomain, id] => Command::Purge {
            installation: installation(subdomain, id)?,
        },
        _ => return Err(USAGE.to_owned()),
    };
    Ok(Invocation { table, command })
}

fn describe(installation: &ZafInstallation, record: &InstallationRecord) -> String {
    format!(
        "{installation}\t{}\t{}\t{}",
        if record.enabled {
            "enabled"
        } else {
            "disabled"
        },
        serde_json::to_string(&record.name).unwrap_or_default(),
        Value::Object(record.settings.clone())
    )
}

fn as_json(listed: &[ListedInstallation]) -> String {
    let items: Vec<Value> = listed
        .iter()
        .map(|l| {
            json!({
                "subdomain": l.installation.subdomain(),
                "installation_id": l.installation.installation_id(),
                "enabled": l.record.enabled,
                "name": l.record.name,
                "settings": l.record.settings,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

/// Run `command` against `admin`; what to print.
pub async fn run(admin: &InstallationAdmin, command: &Command) -> Result<String, AdminError> {
    Ok(match command {
        Command::List { json } => {
            let listed = admin.list().await?;
            if *json {
                as_json(&listed)
            } else if listed.is_empty() {
                "no installations".to_owned()
            } else {
                listed
                    .iter()
                    .map(|l| describe(&l.installation, &l.record))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        Command::Add {
            installation,
            record,
        } => {
            admin.add(installation, record).await?;
            format!("added {}", describe(installation, record))
        }
        Command::SetEnabled {
            installation,
            enabled,
        } => {
            let record = admin.set_enabled(installation, *enabled).await?;
            format!("updated {}", describe(installation, &record))
        }
        Command::Settings {
            installation,
            settings,
        } => {
            let record = admin.set_settings(installation, settings).await?;
            format!("updated {}", describe(installation, &record))
        }
        Command::Rename { installation, name } => {
            let record = admin.set_name(installation, name).await?;
            format!("updated {}", describe(installation, &record))
        }
        Command::Purge { installation } => {
            let deleted = admin.purge(installation).await?;
            format!("purged {installation}: {deleted} items deleted")
        }
    })
}

/// A DynamoDB client from the standard AWS configuration chain (environment, profile, SSO,
/// ...), with `AWS_ENDPOINT_URL_DYNAMODB` honoured.
pub async fn dynamodb_from_environment() -> aws_sdk_dynamodb::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_parsed() {
        let acme = ZafInstallation::new("acme", 360_001).unwrap();
        assert_eq!(
            parse(&["--table", "t", "list", "--json"]).unwrap(),
            Invocation {
                table: Some("t".into()),
                command: Command::List { json: true }
            }
        );
        let add = parse(&[
            "add",
            "Acme",
            "360001",
            "--name",
            "Acme Inc",
            "--settings",
            r#"{"a":1}"#,
            "--disabled",
        ])
        .unwrap();
        assert_eq!(
            add.command,
            Command::Add {
                installation: acme.clone(),
                record: InstallationRecord {
                    enabled: false,
                    name: "Acme Inc".into(),
                    settings: settings(r#"{"a":1}"#).unwrap(),
                }
            }
        );
        assert_eq!(
            parse(&["disable", "acme", "360001"]).unwrap().command,
            Command::SetEnabled {
                installation: acme.clone(),
                enabled: false
            }
        );
        assert_eq!(
            parse(&["enable", "acme", "360001"]).unwrap().command,
            Command::SetEnabled {
                installation: acme,
                enabled: true
            }
        );
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        for (args, says) in [
            (
                vec!["add", "acme.zendesk.com", "1"],
                "not a Zendesk subdomain",
            ),
            (vec!["add", "acme", "0"], "not an installation id"),
            (vec!["add", "acme", "x"], "not an installation id"),
            (vec!["add", "acme", "1", "--name"], "--name needs a value"),
            (vec!["add", "acme", "1", "--bogus"], "unknown option"),
            (
                vec!["settings", "acme", "1", "[1]"],
                "must be a JSON object",
            ),
            (vec!["settings", "acme", "1", "{"], "not JSON"),
            (vec!["remove", "acme", "1"], "usage:"),
            (vec![], "usage:"),
        ] {
            let error = parse(&args).unwrap_err();
            assert!(error.contains(says), "{args:?}: {error}");
        }
    }
}
