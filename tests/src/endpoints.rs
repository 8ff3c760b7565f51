//! The places a token is checked, side by side, for the attack and property tests: the sidebar,
//! the to-do API, and the sdk-exchange function's identity-provider resolver on both its routes
//! (the SDK's, and messaging sign-in with a bearer token). Each knows the key it trusts, claims
//! it accepts, how a client presents a token, and what its refusal looks like.

use std::time::{Duration, Instant};

use lambda_http::{Body, Response};
use proptest::prelude::{TestCaseError, prop_assert};
use serde_json::{Value, json};
use sidebar::Sidebar;
use zendesk_jwt::devkeys::{self, DevKey};

use crate::events::{header, json_body, text};
use crate::sdk_exchange::{
    IdpFixture, exchange_token, idp_claims, idp_fixture, sign_in_with_bearer,
};
use crate::sidebar::{open, sidebar_from_secrets_manager};
use crate::tokens::keys;
use crate::{INSTALLATION_ID, SUBDOMAIN};

/// How long any refusal may take: they are all decided locally.
const QUICKLY: Duration = Duration::from_secs(2);

/// One endpoint that checks tokens, with what it trusts.
pub enum Endpoint {
    /// `POST /sidebar`, a ZAF token in the form.
    Sidebar(Box<Sidebar>),
    /// `GET /todo_items`, a help center token as the bearer token.
    Todos(Box<crate::todos::Fixture>),
    /// `POST /sdk/jwt`, an identity-provider token as the user token.
    IdentityProvider(Box<IdpFixture>),
    /// `POST /messaging/jwt`, an identity-provider token as the bearer token, from the
    /// customer's site.
    Messaging(Box<IdpFixture>),
}

impl Endpoint {
    /// GIVEN every endpoint, each with its real backing services.
    pub async fn all() -> Vec<Endpoint> {
        vec![
            Endpoint::Sidebar(Box::new(sidebar_from_secrets_manager().await)),
            Endpoint::Todos(Box::new(crate::todos::fixture().await)),
            Endpoint::IdentityProvider(Box::new(idp_fixture().await)),
            Endpoint::Messaging(Box::new(idp_fixture().await)),
        ]
    }

    /// The endpoint's function, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Endpoint::Sidebar(_) => "sidebar",
            Endpoint::Todos(_) => "todos",
            Endpoint::IdentityProvider(_) => "sdk-exchange (identity provider)",
            Endpoint::Messaging(_) => "sdk-exchange messaging (identity provider, bearer)",
        }
    }

    /// The key the endpoint trusts.
    pub fn key(&self) -> &'static DevKey {
        match self {
            Endpoint::Sidebar(_) | Endpoint::Todos(_) => &keys().primary,
            Endpoint::IdentityProvider(_) | Endpoint::Messaging(_) => &keys().rotated,
        }
    }

    /// Claims the endpoint accepts.
    pub fn claims(&self) -> Value {
        match self {
            Endpoint::Sidebar(_) => devkeys::zaf_claims(SUBDOMAIN, INSTALLATION_ID, 300),
            Endpoint::Todos(_) => devkeys::help_center_claims(31_337, 300),
            Endpoint::IdentityProvider(_) | Endpoint::Messaging(_) => idp_claims(),
        }
    }

    /// `claims()` signed as the endpoint's issuer signs them.
    pub fn valid_token(&self) -> String {
        self.key().sign(&self.claims())
    }

    /// The header a correctly signed token of this endpoint has, with `alg`.
    pub fn header_with_alg(&self, alg: &str) -> Value {
        json!({"alg": alg, "typ": "JWT", "kid": self.key().kid})
    }

    /// How often the endpoint's JWKS was fetched (the sidebar has none).
    pub fn jwks_hits(&self) -> usize {
        match self {
            Endpoint::Sidebar(_) => 0,
            Endpoint::Todos(f) => f.jwks.hits(),
            Endpoint::IdentityProvider(f) | Endpoint::Messaging(f) => f.jwks.hits(),
        }
    }

    /// Present `token` the way a client of this endpoint does; THEN the answer comes quickly.
    pub async fn present(&self, token: &str) -> Response<Body> {
        let started = Instant::now();
        let response = match self {
            Endpoint::Sidebar(sidebar) => open(sidebar, token).await,
            Endpoint::Todos(f) => f.as_user(token, "GET", "/todo_items", None).await,
            Endpoint::IdentityProvider(f) => exchange_token(&f.exchange, token).await,
            Endpoint::Messaging(f) => sign_in_with_bearer(&f.exchange, token).await,
        };
        assert!(
            started.elapsed() < QUICKLY,
            "{}: took {:?}",
            self.name(),
            started.elapsed()
        );
        response
    }

    /// The token the endpoint reads from `token` as a client presents it. Spaces and tabs at
    /// either end of a bearer token are not part of it: HTTP drops the whitespace around a
    /// header's value (RFC 9110, section 5.5) and RFC 6750 allows more than one space after
    /// `Bearer`. A form field is read as sent.
    pub fn reads<'t>(&self, token: &'t str) -> &'t str {
        match self {
            Endpoint::Todos(_) | Endpoint::Messaging(_) => token.trim_matches([' ', '\t']),
            Endpoint::Sidebar(_) | Endpoint::IdentityProvider(_) => token,
        }
    }

    /// Whether the response is this endpoint's ordinary refusal, with nothing protected in it.
    pub fn is_refusal(&self, response: &Response<Body>) -> bool {
        if response.status() != 401 {
            return false;
        }
        match self {
            Endpoint::Sidebar(_) => {
                let page = text(response);
                page.contains("Not signed in") && !page.contains("ZAFClient")
            }
            Endpoint::Todos(_) => {
                json_body(response) == json!({"message": "Invalid authentication"})
                    && header(response, "www-authenticate")
                        == Some("Bearer error=\"invalid_token\"")
            }
            Endpoint::IdentityProvider(_) | Endpoint::Messaging(_) => {
                json_body(response) == json!({"message": "Unknown or expired user token"})
            }
        }
    }

    /// Whether the response refuses `token`: the ordinary refusal, or for the sidebar the 400
    /// of a POST with no token at all.
    pub fn refuses(&self, token: &str, response: &Response<Body>) -> bool {
        self.is_refusal(response)
            || (token.is_empty()
                && matches!(self, Endpoint::Sidebar(_))
                && response.status() == 400)
    }

    /// Present `token`; THEN it is refused, as a property (a failure names the endpoint, the
    /// token and the answer).
    pub async fn check_refuses(&self, token: &str) -> Result<(), TestCaseError> {
        let response = self.present(token).await;
        prop_assert!(
            self.refuses(token, &response),
            "{}: {token}: {} {}",
            self.name(),
            response.status(),
            text(&response)
        );
        Ok(())
    }

    /// Present `token`; THEN it is accepted (200), as a property.
    pub async fn check_accepts(&self, token: &str) -> Result<(), TestCaseError> {
        let response = self.present(token).await;
        prop_assert!(
            response.status() == 200,
            "{}: {token:?}: {} {}",
            self.name(),
            response.status(),
            text(&response)
        );
        Ok(())
    }

    /// Present each token; the cases that did not get the ordinary refusal, with what they got.
    pub async fn not_refused(&self, cases: &[(String, String)]) -> Vec<String> {
        let mut accepted = Vec::new();
        for (case, token) in cases {
            let response = self.present(token).await;
            if !self.is_refusal(&response) {
                accepted.push(format!(
                    "{}: {case}: {} {}",
                    self.name(),
                    response.status(),
                    crate::events::excerpt(&response, 60)
                ));
            }
        }
        accepted
    }

    /// Present each token; THEN every one gets the ordinary refusal.
    pub async fn assert_all_refused(&self, cases: &[(String, String)]) {
        assert_all_refused(self.not_refused(cases).await);
    }

    /// THEN the valid token is accepted: the refusals are not an endpoint that refuses
    /// everything.
    pub async fn assert_accepts_a_valid_token(&self) {
        let response = self.present(&self.valid_token()).await;
        assert_eq!(
            response.status(),
            200,
            "{}: {}",
            self.name(),
            text(&response)
        );
    }
}

/// THEN nothing was let through (every failure of every endpoint is listed at once).
pub fn assert_all_refused(not_refused: Vec<String>) {
    assert!(
        not_refused.is_empty(),
        "not refused:\n{}",
        not_refused.join("\n")
    );
}
