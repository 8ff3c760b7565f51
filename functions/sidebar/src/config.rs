//! The sidebar function's configuration, read once from the environment.

use std::time::Duration;

use zendesk_jwt::SessionKey;
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::env::{self, ConfigError, ProcessEnv, Reader};
use zendesk_jwt::lambda::metrics::MetricsNamespace;
use zendesk_jwt::lambda::secrets::{SecretLocation, SecretTimes};
use zendesk_jwt::lambda::settings;

use crate::store::DEFAULT_MAX_NOTES;

/// The default lifetime of a session (`SESSION_TTL_SECONDS`).
pub(crate) const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(900);
/// The shortest and longest session lifetimes accepted: sessions last minutes.
pub(crate) const SESSION_TTL_RANGE: std::ops::RangeInclusive<u64> = 60..=3600;
/// The default time an installation record is cached (`INSTALLATION_CACHE_SECONDS`).
pub(crate) const DEFAULT_INSTALLATION_CACHE: Duration = Duration::from_secs(60);
/// The longest installation cache accepted: a disabled installation must stop working soon.
pub(crate) const MAX_INSTALLATION_CACHE: Duration = Duration::from_secs(3600);
/// The largest `MAX_NOTES_PER_INSTALLATION` accepted (the template's bound too).
pub(crate) const MAX_NOTES_LIMIT: u64 = 1_000_000;

/// Which app installations the sidebar serves (`ZAF_INSTALLATIONS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installations {
    /// `single` (the default): exactly one, `ZENDESK_SUBDOMAIN` and `ZAF_APP_INSTALLATION_ID`;
    /// the token's `aud` and `iss` must name it.
    Single(ZafInstallation),
    /// `table`: every installation whose record in `SIDEBAR_TABLE` is enabled. With
    /// `ZENDESK_SUBDOMAIN`, only that account's installations.
    Table {
        /// `ZENDESK_SUBDOMAIN`, if set: the one account whose installations may be served.
        subdomain: Option<String>,
    },
}

/// The session the start page carries for the app's calls to `/sidebar/api/…`.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// `SESSION_KEY_SECRET_ID` (Secrets Manager) or, for local runs, `SESSION_KEY`: the key
    /// sessions are signed with, at least 32 bytes.
    pub key: SecretLocation,
    /// `SESSION_TTL_SECONDS` (default 900, 60 to 3600): how long a session is valid.
    pub ttl: Duration,
}

/// Every setting of the sidebar function; each field names its variable.
#[derive(Clone, Debug)]
pub struct SidebarConfig {
    /// `ZAF_INSTALLATIONS` (`single` or `table`) and the variables of that mode.
    pub installations: Installations,
    /// `ZAF_PUBLIC_KEY_SECRET_ID` (Secrets Manager) or, for local runs, `ZAF_PUBLIC_KEY_PEM`:
    /// the app's public key (PEM).
    pub public_key: SecretLocation,
    /// `SECRET_TTL_SECONDS` (default 300): how long the keys are cached before they are read
    /// again; `SECRET_RETRY_SECONDS` (default 30): how soon a failed refresh (of a key or of an
    /// installation record) is tried again.
    pub secret_times: SecretTimes,
    /// `JWT_LEEWAY_SECONDS` (default 30, at most 60): clock skew allowed on `exp`.
    pub leeway: Duration,
    /// `METRICS_NAMESPACE` (default `ZendeskJwt`): where the function's metrics go.
    pub metrics_namespace: MetricsNamespace,
    /// `SIDEBAR_TABLE`: the DynamoDB table of installations and the app's data; required in
    /// table mode and with sessions.
    pub table: Option<String>,
    /// `INSTALLATION_CACHE_SECONDS` (default 60, at most 3600): how long an installation's
    /// record is cached, so how soon enabling or disabling it takes effect.
    pub installation_cache: Duration,
    /// `SESSION_KEY_SECRET_ID` or `SESSION_KEY`, if set: the start page carries a session and
    /// the app's API is served.
    pub sessions: Option<SessionConfig>,
    /// `MAX_NOTES_PER_INSTALLATION` (default 10,000, at most 1,000,000): the most ticket notes
    /// one installation may keep; a new note beyond it is a 409.
    pub max_notes: u64,
    /// The clock the instance reads: the system's (tests give each instance one they move).
    pub clock: Clock,
}

impl SidebarConfig {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&ProcessEnv)
    }

    /// Read the configuration from `vars`.
    pub fn from_vars(vars: &dyn env::Vars) -> Result<Self, ConfigError> {
        let env = Reader::new(vars);
        let installations = match env.optional("ZAF_INSTALLATIONS").as_deref() {
            None | Some("single") => {
                let id = env
                    .required("ZAF_APP_INSTALLATION_ID")?
                    .parse()
                    .map_err(|_| ConfigError::new("ZAF_APP_INSTALLATION_ID", "must be a number"))?;
                Installations::Single(
                    ZafInstallation::new(env.subdomain("ZENDESK_SUBDOMAIN")?, id).map_err(
                        |problem| ConfigError::new("ZAF_APP_INSTALLATION_ID", problem.to_string()),
                    )?,
                )
            }
            Some("table") => {
                if env.optional("ZAF_APP_INSTALLATION_ID").is_some() {
                    return Err(ConfigError::new(
                        "ZAF_APP_INSTALLATION_ID",
                        "is for ZAF_INSTALLATIONS=single; with ZAF_INSTALLATIONS=table the \
                         installations are the enabled ones in SIDEBAR_TABLE, so unset it",
                    ));
                }
                let subdomain = match env.optional("ZENDESK_SUBDOMAIN") {
                    Some(_) => Some(env.subdomain("ZENDESK_SUBDOMAIN")?),
                    None => None,
                };
                Installations::Table { subdomain }
            }
            Some(other) => {
                return Err(ConfigError::new(
                    "ZAF_INSTALLATIONS",
                    format!("{other:?} is neither single nor table"),
                ));
            }
        };
        let sessions = session_config(&env)?;
        let table = env.optional("SIDEBAR_TABLE");
        if table.is_none() {
            if matches!(installations, Installations::Table { .. }) {
                return Err(ConfigError::new(
                    "SIDEBAR_TABLE",
                    "is required with ZAF_INSTALLATIONS=table (it lists the installations)",
                ));
            }
            if sessions.is_some() {
                return Err(ConfigError::new(
                    "SIDEBAR_TABLE",
                    "is required with sessions (SESSION_KEY_SECRET_ID or SESSION_KEY): the app's \
                     API keeps its data there",
                ));
            }
        }
        let installation_cache =
            env.seconds_or("INSTALLATION_CACHE_SECONDS", DEFAULT_INSTALLATION_CACHE)?;
        if installation_cache > MAX_INSTALLATION_CACHE {
            return Err(ConfigError::new(
                "INSTALLATION_CACHE_SECONDS",
                "must be at most 3600 (a disabled installation must stop working soon)",
            ));
        }
        let max_notes = env.parsed_or("MAX_NOTES_PER_INSTALLATION", DEFAULT_MAX_NOTES)?;
        if !(1..=MAX_NOTES_LIMIT).contains(&max_notes) {
            return Err(ConfigError::new(
                "MAX_NOTES_PER_INSTALLATION",
                format!("must be between 1 and {MAX_NOTES_LIMIT}"),
            ));
        }
        Ok(Self {
            installations,
            public_key: SecretLocation::from_env(
                &env,
                "ZAF_PUBLIC_KEY_SECRET_ID",
                "ZAF_PUBLIC_KEY_PEM",
            )?,
            secret_times: settings::secret_times(&env)?,
            leeway: settings::leeway(&env)?,
            metrics_namespace: MetricsNamespace::from_env(&env)?,
            table,
            installation_cache,
            sessions,
            max_notes,
            clock: Clock::system(),
        })
    }
}

/// The session settings, when a session key is configured.
fn session_config(env: &Reader) -> Result<Option<SessionConfig>, ConfigError> {
    let key = match (
        env.optional("SESSION_KEY_SECRET_ID"),
        env.optional("SESSION_KEY"),
    ) {
        (Some(id), _) => SecretLocation::SecretsManager(id),
        (None, Some(value)) => {
            // An inline key is checked now; one in Secrets Manager when it is first read.
            if let Err(problem) = SessionKey::new(value.as_bytes()) {
                return Err(ConfigError::new("SESSION_KEY", problem));
            }
            SecretLocation::Inline(value.into())
        }
        (None, None) => {
            if env.optional("SESSION_TTL_SECONDS").is_some() {
                return Err(ConfigError::new(
                    "SESSION_TTL_SECONDS",
                    "is set but sessions are off: set SESSION_KEY_SECRET_ID (or SESSION_KEY)",
                ));
            }
            return Ok(None);
        }
    };
    let ttl = env.seconds_within(
        "SESSION_TTL_SECONDS",
        DEFAULT_SESSION_TTL,
        SESSION_TTL_RANGE,
        "a session lasts minutes",
    )?;
    Ok(Some(SessionConfig { key, ttl }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn vars(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn a_complete_configuration_is_read() {
        let config = SidebarConfig::from_vars(&vars(&[
            ("ZENDESK_SUBDOMAIN", "Acme"),
            ("ZAF_APP_INSTALLATION_ID", "360001"),
            ("ZAF_PUBLIC_KEY_SECRET_ID", "zaf/key"),
        ]))
        .unwrap();
        assert_eq!(
            config.installations,
            Installations::Single(ZafInstallation::new("acme", 360_001).unwrap())
        );
        assert!(
            matches!(config.public_key, SecretLocation::SecretsManager(ref id) if id == "zaf/key")
        );
        assert_eq!(config.secret_times.ttl, Duration::from_secs(300));
        assert_eq!(config.secret_times.retry, Duration::from_secs(30));
        assert_eq!(config.leeway, Duration::from_secs(30));
        assert!(config.sessions.is_none(), "sessions are off by default");
        assert_eq!(config.table, None);
    }

    #[test]
    fn every_problem_names_its_variable() {
        let base = [
            ("ZENDESK_SUBDOMAIN", "acme"),
            ("ZAF_APP_INSTALLATION_ID", "1"),
            ("ZAF_PUBLIC_KEY_PEM", "-----BEGIN PUBLIC KEY-----"),
        ];
        assert!(SidebarConfig::from_vars(&vars(&base)).is_ok());
        for (name, bad) in [
            ("ZENDESK_SUBDOMAIN", "acme.zendesk.com"),
            ("ZAF_APP_INSTALLATION_ID", "one"),
            // 0 names no installation: every other place that reads one refuses it too.
            ("ZAF_APP_INSTALLATION_ID", "0"),
            ("ZAF_PUBLIC_KEY_PEM", ""),
            ("JWT_LEEWAY_SECONDS", "61"),
            ("SECRET_TTL_SECONDS", "-1"),
            ("ZAF_INSTALLATIONS", "many"),
            ("INSTALLATION_CACHE_SECONDS", "3601"),
            ("SESSION_TTL_SECONDS", "600"),
        ] {
            let mut pairs = vars(&base);
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, bad.to_owned()));
            let error = SidebarConfig::from_vars(&pairs).unwrap_err();
            let expected = if name == "ZAF_PUBLIC_KEY_PEM" {
                "ZAF_PUBLIC_KEY_SECRET_ID"
            } else {
                name
            };
            assert_eq!(error.name, expected, "{name}={bad:?}");
        }
        for missing in ["ZENDESK_SUBDOMAIN", "ZAF_APP_INSTALLATION_ID"] {
            let mut pairs = vars(&base);
            pairs.retain(|(k, _)| *k != missing);
            assert_eq!(SidebarConfig::from_vars(&pairs).unwrap_err().name, missing);
        }
    }

    #[test]
    fn table_mode_needs_the_table_and_refuses_a_single_installation_id() {
        let base = [
            ("ZAF_INSTALLATIONS", "table"),
            ("SIDEBAR_TABLE", "sidebar"),
            ("ZAF_PUBLIC_KEY_SECRET_ID", "zaf/key"),
        ];
        let config = SidebarConfig::from_vars(&vars(&base)).unwrap();
        assert_eq!(
            config.installations,
            Installations::Table { subdomain: None }
        );
        assert_eq!(config.table.as_deref(), Some("sidebar"));
        assert_eq!(config.installation_cache, Duration::from_secs(60));

        let mut one_account = vars(&base);
        one_account.push(("ZENDESK_SUBDOMAIN", "Acme".into()));
        assert_eq!(
            SidebarConfig::from_vars(&one_account)
                .unwrap()
                .installations,
            Installations::Table {
                subdomain: Some("acme".into())
            }
        );

        let mut with_id = vars(&base);
        with_id.push(("ZAF_APP_INSTALLATION_ID", "1".into()));
        let error = SidebarConfig::from_vars(&with_id).unwrap_err();
        assert_eq!(error.name, "ZAF_APP_INSTALLATION_ID");
        assert!(error.problem.contains("single"), "{}", error.problem);

        let mut no_table = vars(&base);
        no_table.retain(|(k, _)| *k != "SIDEBAR_TABLE");
        assert_eq!(
            SidebarConfig::from_vars(&no_table).unwrap_err().name,
            "SIDEBAR_TABLE"
        );
    }

    #[test]
    fn sessions_need_a_long_enough_key_and_the_table() {
        let base = [
            ("ZENDESK_SUBDOMAIN", "acme"),
            ("ZAF_APP_INSTALLATION_ID", "1"),
            ("ZAF_PUBLIC_KEY_SECRET_ID", "zaf/key"),
            ("SIDEBAR_TABLE", "sidebar"),
        ];
        let mut inline = vars(&base);
        inline.push(("SESSION_KEY", KEY.into()));
        let sessions = SidebarConfig::from_vars(&inline).unwrap().sessions.unwrap();
        assert_eq!(sessions.ttl, Duration::from_secs(900));
        assert!(matches!(sessions.key, SecretLocation::Inline(_)));

        let mut stored = vars(&base);
        stored.push(("SESSION_KEY_SECRET_ID", "sidebar/session-key".into()));
        stored.push(("SESSION_TTL_SECONDS", "300".into()));
        let sessions = SidebarConfig::from_vars(&stored).unwrap().sessions.unwrap();
        assert_eq!(sessions.ttl, Duration::from_secs(300));

        for (name, value, expected) in [
            ("SESSION_KEY", &KEY[1..], "SESSION_KEY"),
            ("SESSION_TTL_SECONDS", "59", "SESSION_TTL_SECONDS"),
            ("SESSION_TTL_SECONDS", "3601", "SESSION_TTL_SECONDS"),
        ] {
            let mut pairs = inline.clone();
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value.to_owned()));
            assert_eq!(
                SidebarConfig::from_vars(&pairs).unwrap_err().name,
                expected,
                "{name}={value}"
            );
        }
        let error = {
            let mut pairs = inline.clone();
            pairs.retain(|(k, _)| *k != "SESSION_KEY");
            pairs.push(("SESSION_KEY", "short-secret".into()));
            SidebarConfig::from_vars(&pairs).unwrap_err()
        };
        assert!(
            !error.to_string().contains("short-secret"),
            "the error never holds the key"
        );

        let mut no_table = inline.clone();
        no_table.retain(|(k, _)| *k != "SIDEBAR_TABLE");
        assert_eq!(
            SidebarConfig::from_vars(&no_table).unwrap_err().name,
            "SIDEBAR_TABLE"
        );
    }
}
