//! Which installations the sidebar serves, and the cache of their records in table mode.
//!
//! In single mode the configured installation is the only one, and the table is not asked. In
//! table mode an installation is served while its record is enabled; records are cached for
//! `INSTALLATION_CACHE_SECONDS` in the bundle's refreshing cell
//! ([`zendesk_jwt::lambda::cache::RefreshingCell`]): one fetch in flight per installation (the others
//! are served the last good record at once), the last good record kept when a refresh fails
//! (and the next attempt made after `SECRET_RETRY_SECONDS`), and with nothing cached a failure
//! answered "unavailable" at once for a second. An unknown installation is cached too, so
//! adding one takes effect within the same time as disabling one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zendesk_jwt::ZafInstallation;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::cache::{Failure, Got, RefreshingCell, SecretTimes};

use crate::config::Installations;
use crate::store::{InstallationRecord, SidebarStore, Unavailable};

/// At most this many installations are cached; past it the cache starts again (only tokens
/// with Zendesk's signature for the app ever reach it, so this is a bound, not a limit).
const MAX_CACHED: usize = 10_000;

/// Whether an installation may use the app.
#[derive(Debug)]
pub(crate) enum Admission {
    /// It may; its record (single mode: the table's record, if one is asked for).
    Enabled(Option<Arc<InstallationRecord>>),
    /// It may not: unknown, disabled, or not the configured one.
    NotEnabled,
}

/// A record as cached: `None` for an installation the table does not know.
type Cached = Option<Arc<InstallationRecord>>;

/// One installation's slot: its cached record, by the cache rule.
type Slot = RefreshingCell<Cached>;

/// The installations the sidebar serves.
pub(crate) struct InstallationGate {
    mode: Installations,
    store: Option<Arc<SidebarStore>>,
    times: SecretTimes,
    clock: Clock,
    slots: Mutex<HashMap<ZafInstallation, Arc<Slot>>>,
}

impl InstallationGate {
    /// The gate for `mode`, reading records from `store` (required in table mode) and keeping
    /// them for `times.ttl` as `clock` counts it.
    pub fn new(
        mode: Installations,
        store: Option<Arc<SidebarStore>>,
        times: SecretTimes,
        clock: Clock,
    ) -> Self {
        Self {
            mode,
            store,
            times,
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `installation` may use the app now, from the cache when it is fresh.
    pub async fn admit(&self, installation: &ZafInstallation) -> Result<Admission, Unavailable> {
        match &self.mode {
            Installations::Single(configured) => Ok(if configured == installation {
                Admission::Enabled(None)
            } else {
                Admission::NotEnabled
            }),
            Installations::Table { subdomain } => {
                if subdomain
                    .as_ref()
                    .is_some_and(|s| *s != installation.subdomain())
                {
                    return Ok(Admission::NotEnabled);
                }
                Ok(admission(self.cached_record(installation).await?))
            }
        }
    }

    /// Whether `installation` may use the app, with its record read from the table now (one
    /// `GetItem`; in table mode the cache is updated with it).
    pub(crate) async fn admit_fresh(
        &self,
        installation: &ZafInstallation,
    ) -> Result<Admission, Unavailable> {
        let Some(store) = &self.store else {
            return self.admit(installation).await;
        };
        if let Admission::NotEnabled = self.admit_by_configuration(installation) {
            return Ok(Admission::NotEnabled);
        }
        let record: Cached = store.installation(installation).await?.map(Arc::new);
        match &self.mode {
            Installations::Single(_) => Ok(Admission::Enabled(record)),
            Installations::Table { .. } => {
                self.slot(installation).store(record.clone());
                Ok(admission(record))
            }
        }
    }

    /// What the configuration alone says: the configured installation (single mode) or the
    /// configured account (table mode with `ZENDESK_SUBDOMAIN`).
    fn admit_by_configuration(&self, installation: &ZafInstallation) -> Admission {
        let allowed = match &self.mode {
            Installations::Single(configured) => configured == installation,
            Installations::Table { subdomain } => subdomain
                .as_ref()
                .is_none_or(|s| *s == installation.subdomain()),
        };
        if allowed {
            Admission::Enabled(None)
        } else {
            Admission::NotEnabled
        }
    }

    fn slot(&self, installation: &ZafInstallation) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= MAX_CACHED && !slots.contains_key(installation) {
            slots.clear();
        }
        slots
            .entry(installation.clone())
            .or_insert_with(|| Arc::new(Slot::new(self.times, self.clock.clone())))
            .clone()
    }

    /// The record of `installation` (table mode), by the cache rule.
    async fn cached_record(&self, installation: &ZafInstallation) -> Result<Cached, Unavailable> {
        let Some(store) = &self.store else {
            return Err(Unavailable("no table is configured".into()));
        };
        let fetch = || async {
            match store.installation(installation).await {
                Ok(record) => Ok(record.map(Arc::new)),
                Err(error) => Err(Failure::Unavailable(error)),
            }
        };
        match self.slot(installation).get(fetch).await {
            Got::Value(record) => Ok(record),
            Got::Stale(record, error) => {
                tracing::warn!(%error, %installation, "installation refresh failed; using the last good record");
                Ok(record)
            }
            // A record is never refused, so never retired.
            Got::Failed(error) | Got::Retired(error) => Err(error),
            Got::Cooling => Err(Unavailable(
                "the last attempt to read the installation failed moments ago".into(),
            )),
        }
    }
}

fn admission(record: Cached) -> Admission {
    match record {
        Some(found) if found.enabled => Admission::Enabled(Some(found)),
        _ => Admission::NotEnabled,
    }
}
