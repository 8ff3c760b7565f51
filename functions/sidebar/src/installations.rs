//! Which installations the sidebar serves, and the cache of their records in table mode.
//!
//! In single mode the configured installation is the only one, and the table is not asked. In
//! table mode an installation is served while its record is enabled; records are cached for
//! `INSTALLATION_CACHE_SECONDS` with the bundle's rule for every cached value
//! ([`zendesk_jwt::lambda::secrets::step`]): one fetch in flight per installation (the others
//! are served the last good record at once), the last good record kept when a refresh fails
//! (and the next attempt made after `SECRET_RETRY_SECONDS`), and with nothing cached a failure
//! answered "unavailable" at once for a second. An unknown installation is cached too, so
//! adding one takes effect within the same time as disabling one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::time::Instant;
use zendesk_jwt::ZafInstallation;
use zendesk_jwt::clock::Clock;
use zendesk_jwt::lambda::secrets::{SecretTimes, Step, step};

use crate::config::Installations;
use crate::store::{InstallationRecord, SidebarStore, Unavailable};

/// At most this many installations are cached; past it the cache starts again (only tokens
/// with Zendesk's signature for the app ever reach it, so this is a bound, not a limit).
const MAX_CACHED: usize = 10_000;

/// Whether an installation may use the app.
#[derive(Debug)]
pub enum Admission {
    /// It may; its record (single mode: the table's record, if one is asked for).
    Enabled(Option<Arc<InstallationRecord>>),
    /// It may not: unknown, disabled, or not the configured one.
    NotEnabled,
}

/// A record as cached: `None` for an installation the table does not know.
type Cached = Option<Arc<InstallationRecord>>;

/// One installation's slot: its cached record and its refresh lock.
#[derive(Default)]
struct Slot {
    current: RwLock<Option<(Cached, Instant)>>,
    /// Held for the whole of a fetch; holds the time of the last failed one.
    refresh: tokio::sync::Mutex<Option<Instant>>,
}

impl Slot {
    fn cached(
        &self,
        last_failure: Option<Instant>,
        times: SecretTimes,
        now: Instant,
    ) -> (Step, Option<Cached>) {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        let fetched_at = current.as_ref().map(|(_, at)| *at);
        let step = step(fetched_at, false, last_failure, now, times);
        (step, current.as_ref().map(|(value, _)| value.clone()))
    }

    fn store(&self, value: Cached, now: Instant) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some((value, now));
    }
}

/// The installations the sidebar serves.
pub struct InstallationGate {
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
    pub async fn admit_fresh(
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
                self.slot(installation)
                    .store(record.clone(), self.clock.instant());
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
        slots.entry(installation.clone()).or_default().clone()
    }

    /// The record of `installation` (table mode), by the cache rule.
    async fn cached_record(&self, installation: &ZafInstallation) -> Result<Cached, Unavailable> {
        let Some(store) = &self.store else {
            return Err(Unavailable("no table is configured".into()));
        };
        let slot = self.slot(installation);
        if let (Step::Serve, Some(value)) = slot.cached(None, self.times, self.clock.instant()) {
            return Ok(value);
        }
        let mut last_failure = match slot.refresh.try_lock() {
            Ok(guard) => guard,
            Err(_) => match slot.cached(None, self.times, self.clock.instant()).1 {
                // Another request is fetching this record: use the last good one at once.
                Some(stale) => return Ok(stale),
                None => slot.refresh.lock().await,
            },
        };
        match slot.cached(*last_failure, self.times, self.clock.instant()) {
            (Step::Serve, Some(value)) => Ok(value),
            (Step::Fail, _) => Err(Unavailable(
                "the last attempt to read the installation failed moments ago".into(),
            )),
            (_, stale) => match store.installation(installation).await {
                Ok(record) => {
                    let record = record.map(Arc::new);
                    slot.store(record.clone(), self.clock.instant());
                    *last_failure = None;
                    Ok(record)
                }
                Err(error) => {
                    *last_failure = Some(self.clock.instant());
                    match stale {
                        Some(stale) => {
                            tracing::warn!(%error, %installation, "installation refresh failed; using the last good record");
                            Ok(stale)
                        }
                        None => Err(error),
                    }
                }
            },
        }
    }
}

fn admission(record: Cached) -> Admission {
    match record {
        Some(found) if found.enabled => Admission::Enabled(Some(found)),
        _ => Admission::NotEnabled,
    }
}
