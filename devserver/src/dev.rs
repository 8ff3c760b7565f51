//! The development environment: keys, JWKS, SDK secret, messaging signing key, sidebar session
//! key and demo user token kept in a local folder (`.dev/`, ignored by git), the configuration that trusts exactly those
//! keys, and the provisioning of DynamoDB Local and moto's Secrets Manager with them (tables,
//! secrets, the development app installation's record).

use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use sidebar::admin::{AdminError, InstallationAdmin};
use sidebar::store::{self, InstallationRecord};
use zendesk_jwt::ZafInstallation;

use crate::devkeys::{self, DevKey};

/// The Zendesk subdomain of the development account.
pub const SUBDOMAIN: &str = "example";
/// The app installation id of the development app.
pub const INSTALLATION_ID: u64 = 1;
/// The `kid` of the development help center key.
pub const HELP_CENTER_KID: &str = "dev-help-center-1";
/// The development to-do table.
pub const TODOS_TABLE: &str = "zendesk-dev-todos";
/// The development user-token table.
pub const USER_TOKENS_TABLE: &str = "zendesk-dev-user-tokens";
/// The Secrets Manager id of the development app public key.
pub(crate) const ZAF_SECRET_ID: &str = "zendesk-dev/zaf-public-key";
/// The Secrets Manager id of the development SDK shared secret.
pub(crate) const SDK_SECRET_ID: &str = "zendesk-dev/sdk-shared-secret";
/// The Secrets Manager id of the development messaging signing key.
pub(crate) const MESSAGING_KEY_SECRET_ID: &str = "zendesk-dev/messaging-signing-key";
/// The development sidebar table (installations, notes).
pub const SIDEBAR_TABLE: &str = "zendesk-dev-sidebar";
/// The Secrets Manager id of the development sidebar session key.
pub const SESSION_KEY_SECRET_ID: &str = "zendesk-dev/sidebar-session-key";
/// The display name of the development app installation's record.
pub(crate) const INSTALLATION_NAME: &str = "Development";
/// Where the local server listens.
pub const LOCAL_ORIGIN: &str = "http://127.0.0.1:3000";
/// The `iss` of development identity-provider tokens (`USER_TOKEN_RESOLVER=identity-provider`).
pub const IDP_ISSUER: &str = "https://idp.example.dev/";
/// The `aud` of development identity-provider tokens.
pub const IDP_AUDIENCE: &str = "zendesk-sdk";
/// The Zendesk user (`sub`) of development ZAF tokens, and so of development sessions.
pub(crate) const DEV_AGENT: &str = "1900000000001";

/// The development keys and secrets, loaded from (or first created in) a folder.
pub struct DevEnvironment {
    /// The folder, normally `.dev/`.
    pub dir: PathBuf,
    /// The development app's key pair (signs ZAF tokens).
    pub zaf: DevKey,
    /// The development help center key (signs help center JWTs; published in `jwks.json`).
    pub help_center: DevKey,
    /// The development SDK shared secret.
    pub sdk_secret: String,
    /// The development messaging signing key, as its secret holds it:
    /// `{"kid": "app_…", "secret": "…"}`.
    pub messaging_key: String,
    /// The development sidebar session key (64 hex characters).
    pub session_key: String,
    /// A user token registered for the demo user by [`DevEnvironment::provision`].
    pub demo_user_token: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the system RNG works");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_or_create(path: &Path, create: impl FnOnce() -> String) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = create();
            std::fs::write(path, &text)?;
            Ok(text)
        }
        Err(e) => Err(e),
    }
}

fn key_pair(dir: &Path, name: &str, kid: &str) -> std::io::Result<DevKey> {
    let private = dir.join(format!("{name}-private.pem"));
    let public = dir.join(format!("{name}-public.pem"));
    if !private.exists() || !public.exists() {
        let key = DevKey::generate(kid);
        std::fs::write(&private, key.private_pem())?;
        std::fs::write(&public, key.public_pem())?;
    }
    Ok(DevKey::from_pems(
        kid,
        std::fs::read_to_string(private)?,
        std::fs::read_to_string(public)?,
    ))
}

impl DevEnvironment {
    /// Load the environment in `dir`, creating whatever is missing (keys, secret, token).
    pub fn load_or_create(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys)?;
        let zaf = key_pair(&keys, "zaf-app", "zaf")?;
        let help_center = key_pair(&keys, "help-center", HELP_CENTER_KID)?;
        let sdk_secret = read_or_create(&dir.join("sdk-shared-secret"), || {
            format!("dev-only-{}", random_hex(24))
        })?;
        let messaging_key = read_or_create(&dir.join("messaging-signing-key"), || {
            serde_json::json!({
                "kid": format!("app_dev{}", random_hex(12)),
                "secret": format!("dev-only-{}", random_hex(24)),
            })
            .to_string()
        })?;
        let session_key = read_or_create(&dir.join("sidebar-session-key"), || random_hex(32))?;
        let demo_user_token = read_or_create(&dir.join("demo-user-token"), || {
            format!("demo-{}", random_hex(24))
        })?;
        let env = Self {
            dir,
            zaf,
            help_center,
            sdk_secret: sdk_secret.trim().to_owned(),
            messaging_key: messaging_key.trim().to_owned(),
            session_key: session_key.trim().to_owned(),
            demo_user_token: demo_user_token.trim().to_owned(),
        };
        std::fs::write(env.dir.join("jwks.json"), env.jwks())?;
        Ok(env)
    }

    /// The development JWKS document (the help center key only).
    pub fn jwks(&self) -> String {
        devkeys::jwks(&[&self.help_center])
    }

    /// A ZAF signed-URL token for the development app installation.
    pub fn zaf_token(&self, ttl_seconds: i64) -> String {
        self.zaf_token_for(INSTALLATION_ID, ttl_seconds)
    }

    /// A ZAF signed-URL token for another installation of the development app, in the
    /// development account (installations other than [`INSTALLATION_ID`] are not in the table).
    pub(crate) fn zaf_token_for(&self, installation_id: u64, ttl_seconds: i64) -> String {
        self.zaf_token_of(
            &ZafInstallation::new(SUBDOMAIN, installation_id).unwrap(),
            ttl_seconds,
        )
    }

    /// A ZAF signed-URL token for `installation` of any account, signed with the development
    /// app's key (Zendesk signs every installation's tokens with the app's one key pair).
    pub fn zaf_token_of(&self, installation: &ZafInstallation, ttl_seconds: i64) -> String {
        self.zaf.sign(&devkeys::zaf_claims(
            installation.subdomain(),
            installation.installation_id(),
            ttl_seconds,
        ))
    }

    /// The development app installation.
    pub fn installation() -> ZafInstallation {
        ZafInstallation::new(SUBDOMAIN, INSTALLATION_ID).unwrap()
    }

    /// A session for the sidebar's API, as the start page of the development installation
    /// carries it, for `app_guid`, valid for `ttl_seconds` (negative: already expired).
    pub fn session(&self, app_guid: &str, ttl_seconds: i64) -> String {
        let session = zendesk_jwt::Session {
            installation: Self::installation(),
            app_guid: app_guid.to_owned(),
            user: Some(DEV_AGENT.to_owned()),
            iat: devkeys::now().max(0) as u64,
            exp: devkeys::now().saturating_add(ttl_seconds).max(0) as u64,
        };
        let key = zendesk_jwt::SessionKey::new(self.session_key.as_bytes())
            .expect("the development session key is 64 characters");
        session.sign(&key)
    }

    /// A help center JWT for `user_id`.
    pub fn help_center_token(&self, user_id: u64, ttl_seconds: i64) -> String {
        self.help_center
            .sign(&devkeys::help_center_claims(user_id, ttl_seconds))
    }

    /// An identity-provider token for the SDK exchange in `identity-provider` mode, signed with
    /// the development help center key (so the development JWKS verifies it).
    pub fn idp_token(&self, subject: &str, ttl_seconds: i64) -> String {
        let now = devkeys::now();
        self.help_center.sign(&serde_json::json!({
            "iss": IDP_ISSUER,
            "aud": IDP_AUDIENCE,
            "sub": subject,
            "name": "Demo User",
            "email": "demo@example.com",
            "email_verified": true,
            "iat": now,
            "exp": now + ttl_seconds,
        }))
    }

    /// The development configuration of all three functions, as environment variables. Secrets
    /// are read from (moto's) Secrets Manager, as in production. `jwks_url` is where the
    /// development JWKS is served. The sidebar runs in table mode with sessions, as the template
    /// deploys it, for every installation enabled in its table (the development one is): the
    /// to-do API's account, `ZENDESK_SUBDOMAIN`, is unset for the sidebar
    /// (`SIDEBAR__ZENDESK_SUBDOMAIN`, read by the local server, [`crate::FunctionVars`]).
    /// `cargo lambda watch` gives every function the same environment, so there it still limits
    /// the sidebar to the development account.
    pub fn variables(&self, jwks_url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("ZENDESK_SUBDOMAIN", SUBDOMAIN.into()),
            ("SIDEBAR__ZENDESK_SUBDOMAIN", String::new()),
            ("ZAF_INSTALLATIONS", "table".into()),
            ("SIDEBAR_TABLE", SIDEBAR_TABLE.into()),
            ("SESSION_KEY_SECRET_ID", SESSION_KEY_SECRET_ID.into()),
            ("ZAF_PUBLIC_KEY_SECRET_ID", ZAF_SECRET_ID.into()),
            ("TODOS_TABLE", TODOS_TABLE.into()),
            (
                "ALLOWED_ORIGINS",
                format!("{LOCAL_ORIGIN},http://localhost:3000"),
            ),
            ("HELP_CENTER_JWKS_URL", jwks_url.into()),
            ("SDK_SHARED_SECRET_ID", SDK_SECRET_ID.into()),
            ("USER_TOKEN_RESOLVER", "table".into()),
            ("USER_TOKENS_TABLE", USER_TOKENS_TABLE.into()),
            // Messaging sign-in: the development signing key; pages of the local server may
            // call it (a customer's site, locally).
            (
                "MESSAGING_SIGNING_KEY_SECRET_ID",
                MESSAGING_KEY_SECRET_ID.into(),
            ),
            (
                "MESSAGING_ALLOWED_ORIGINS",
                format!("{LOCAL_ORIGIN},http://localhost:3000"),
            ),
        ]
    }

    /// Create the tables and secrets (if missing), store the development keys and secrets,
    /// enable the development installation (unless its record exists: a developer may have
    /// disabled it) and register the demo user token. Safe to run again.
    pub async fn provision(
        &self,
        dynamodb: &aws_sdk_dynamodb::Client,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Result<(), String> {
        create_table(dynamodb, TODOS_TABLE, "owner", None).await?;
        create_table(dynamodb, USER_TOKENS_TABLE, "token_hash", None).await?;
        create_sidebar_table(dynamodb, SIDEBAR_TABLE).await?;
        let added = InstallationAdmin::new(dynamodb.clone(), SIDEBAR_TABLE)
            .add(
                &Self::installation(),
                &InstallationRecord {
                    enabled: true,
                    name: INSTALLATION_NAME.into(),
                    settings:
                        serde_json::json!({"greeting": "Hello from the development installation"})
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                },
            )
            .await;
        match added {
            // A record that exists is kept: a developer may have disabled it on purpose.
            Ok(()) | Err(AdminError::Exists(_)) => {}
            Err(error) => return Err(error.to_string()),
        }
        let ttl = dynamodb
            .update_time_to_live()
            .table_name(USER_TOKENS_TABLE)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expires_at")
                    .enabled(true)
                    .build()
                    .expect("name and flag are set"),
            )
            .send()
            .await;
        if let Err(error) = ttl {
            // Enabling TTL twice is refused; the table is usable either way.
            tracing::debug!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(error), "TTL not changed");
        }
        put_secret(secrets, ZAF_SECRET_ID, self.zaf.public_pem()).await?;
        put_secret(secrets, SDK_SECRET_ID, &self.sdk_secret).await?;
        put_secret(secrets, MESSAGING_KEY_SECRET_ID, &self.messaging_key).await?;
        put_secret(secrets, SESSION_KEY_SECRET_ID, &self.session_key).await?;
        self.register_user_token(
            dynamodb,
            &self.demo_user_token,
            "Demo User",
            "demo@example.com",
            30 * 24 * 3600,
        )
        .await
    }

    /// Register `user_token` for a user, the way an organisation's backend would.
    pub async fn register_user_token(
        &self,
        dynamodb: &aws_sdk_dynamodb::Client,
        user_token: &str,
        name: &str,
        email: &str,
        ttl_seconds: i64,
    ) -> Result<(), String> {
        dynamodb
            .put_item()
            .table_name(USER_TOKENS_TABLE)
            .item(
                "token_hash",
                AttributeValue::S(sdk_exchange::token_hash(user_token)),
            )
            .item(
                "expires_at",
                AttributeValue::N((devkeys::now() + ttl_seconds).to_string()),
            )
            .item("name", AttributeValue::S(name.into()))
            .item("email", AttributeValue::S(email.into()))
            .item("external_id", AttributeValue::S("demo-user-1".into()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "registering a user token: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })
    }

    /// A new random user token, registered for the demo user.
    pub async fn mint_user_token(
        &self,
        dynamodb: &aws_sdk_dynamodb::Client,
    ) -> Result<String, String> {
        let token = format!("dev-{}", random_hex(24));
        self.register_user_token(dynamodb, &token, "Demo User", "demo@example.com", 3600)
            .await?;
        Ok(token)
    }
}

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("name and type are set")
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

/// Create an on-demand table with string partition key `pk` and optional string sort key `sk`;
/// an existing table of that name is left as it is.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    pk: &str,
    sk: Option<&str>,
) -> Result<(), String> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(pk, ScalarAttributeType::S))
        .key_schema(key(pk, KeyType::Hash));
    if let Some(sk) = sk {
        request = request
            .attribute_definitions(attribute(sk, ScalarAttributeType::S))
            .key_schema(key(sk, KeyType::Range));
    }
    send_create_table(request, name).await
}

/// Create the sidebar's table `name` as the template defines it: partition key `pk`, sort key
/// `sk`, and the index of installation records ([`sidebar::admin::INSTALLATIONS_INDEX`], keyed
/// by `subdomain` and `installation_id`, which only records have); an existing table is left as
/// it is.
pub async fn create_sidebar_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), String> {
    let index = GlobalSecondaryIndex::builder()
        .index_name(sidebar::admin::INSTALLATIONS_INDEX)
        .key_schema(key("subdomain", KeyType::Hash))
        .key_schema(key("installation_id", KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("name, keys and projection are set");
    let request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(store::PARTITION_KEY, ScalarAttributeType::S))
        .attribute_definitions(attribute(store::SORT_KEY, ScalarAttributeType::S))
        .attribute_definitions(attribute("subdomain", ScalarAttributeType::S))
        .attribute_definitions(attribute("installation_id", ScalarAttributeType::N))
        .key_schema(key(store::PARTITION_KEY, KeyType::Hash))
        .key_schema(key(store::SORT_KEY, KeyType::Range))
        .global_secondary_indexes(index);
    send_create_table(request, name).await
}

/// Send a `CreateTable`; a table of that name that exists already is fine.
async fn send_create_table(
    request: aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder,
    name: &str,
) -> Result<(), String> {
    match request.send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(format!(
            "creating table {name}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(error)
        )),
    }
}

async fn put_secret(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    value: &str,
) -> Result<(), String> {
    let created = client
        .create_secret()
        .name(id)
        .secret_string(value)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            client
                .put_secret_value()
                .secret_id(id)
                .secret_string(value)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    format!(
                        "storing secret {id}: {}",
                        aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                    )
                })
        }
        Err(error) => Err(format!(
            "creating secret {id}: {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(error)
        )),
    }
}
