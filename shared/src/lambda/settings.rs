//! The verification settings that every function reads from its environment the same way.

use std::time::Duration;

use super::env::{ConfigError, Reader};
use super::secrets::SecretTimes;
use crate::verify::JwksSettings;

/// The JWT leeway (`JWT_LEEWAY_SECONDS`, default 30 s, at most 60 s).
pub fn leeway(env: &Reader) -> Result<Duration, ConfigError> {
    let leeway = env.seconds_or("JWT_LEEWAY_SECONDS", Duration::from_secs(30))?;
    if leeway > Duration::from_secs(60) {
        return Err(ConfigError::new("JWT_LEEWAY_SECONDS", "must be at most 60"));
    }
    Ok(leeway)
}

/// The JWKS fetch settings (`JWKS_COOLDOWN_SECONDS`, `JWKS_TIMEOUT_MS`, `JWKS_MAX_BYTES`,
/// `JWKS_MAX_AGE_SECONDS`).
pub fn jwks(env: &Reader) -> Result<JwksSettings, ConfigError> {
    let defaults = JwksSettings::default();
    Ok(JwksSettings {
        cooldown: env.seconds_or("JWKS_COOLDOWN_SECONDS", defaults.cooldown)?,
        timeout: env.millis_or("JWKS_TIMEOUT_MS", defaults.timeout)?,
        max_bytes: env.parsed_or("JWKS_MAX_BYTES", defaults.max_bytes)?,
        max_age: env.seconds_or("JWKS_MAX_AGE_SECONDS", defaults.max_age)?,
    })
}

/// How long a secret is cached before it is read again (`SECRET_TTL_SECONDS`, default 300 s),
/// and how long the last good value is served after a failed refresh before the next attempt
/// (`SECRET_RETRY_SECONDS`, default 30 s).
pub fn secret_times(env: &Reader) -> Result<SecretTimes, ConfigError> {
    Ok(SecretTimes {
        ttl: env.seconds_or("SECRET_TTL_SECONDS", Duration::from_secs(300))?,
        retry: env.seconds_or("SECRET_RETRY_SECONDS", Duration::from_secs(30))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leeway_defaults_to_30_seconds_and_may_not_pass_60() {
        let none: Vec<(&str, String)> = vec![];
        assert_eq!(
            leeway(&Reader::new(&none)).unwrap(),
            Duration::from_secs(30)
        );
        let sixty = vec![("JWT_LEEWAY_SECONDS", "60".to_owned())];
        assert_eq!(
            leeway(&Reader::new(&sixty)).unwrap(),
            Duration::from_secs(60)
        );
        let too_much = vec![("JWT_LEEWAY_SECONDS", "61".to_owned())];
        assert_eq!(
            leeway(&Reader::new(&too_much)).unwrap_err().name,
            "JWT_LEEWAY_SECONDS"
        );
    }

    #[test]
    fn jwks_settings_default_and_override() {
        let none: Vec<(&str, String)> = vec![];
        let defaults = jwks(&Reader::new(&none)).unwrap();
        assert_eq!(defaults.cooldown, Duration::from_secs(30));
        assert_eq!(defaults.timeout, Duration::from_secs(3));
        assert_eq!(defaults.max_bytes, 65536);
        assert_eq!(defaults.max_age, Duration::from_secs(600));
        let set = vec![
            ("JWKS_COOLDOWN_SECONDS", "5".to_owned()),
            ("JWKS_TIMEOUT_MS", "250".to_owned()),
            ("JWKS_MAX_BYTES", "1024".to_owned()),
            ("JWKS_MAX_AGE_SECONDS", "60".to_owned()),
        ];
        let settings = jwks(&Reader::new(&set)).unwrap();
        assert_eq!(settings.cooldown, Duration::from_secs(5));
        assert_eq!(settings.timeout, Duration::from_millis(250));
        assert_eq!(settings.max_bytes, 1024);
        assert_eq!(settings.max_age, Duration::from_secs(60));
    }
}
