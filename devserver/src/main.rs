//! `devserver`: the local development loop.
//!
//! ```text
//! devserver serve                 serve the three functions on http://127.0.0.1:3000 ($PORT),
//!                                 and the browser harness at /harness when .dev/ exists
//! devserver init                  create .dev/ keys and provision DynamoDB Local and moto
//! devserver env                   print the development configuration as shell exports
//! devserver mint sidebar [SUBDOMAIN INSTALLATION_ID]
//!                                 a ZAF token for the development app (of another account's
//!                                 installation: enable it with the installations command)
//! devserver mint session          a session for the sidebar's API (the harness's app_guid)
//! devserver mint todos [USER_ID]  a help center JWT (user 1 by default)
//! devserver mint sdk              a newly registered SDK user token
//! devserver mint idp              an identity-provider token (USER_TOKEN_RESOLVER=identity-provider)
//! devserver fixtures [DIR]        regenerate events/ with fresh tokens
//! devserver requests              print curl commands that work against the local server
//! ```
//! The development folder is `$DEV_DIR` (default `.dev`).

use std::net::SocketAddr;
use std::sync::Arc;

use devserver::Functions;
use devserver::dev::{self, DevEnvironment};
use devserver::harness::{APP_GUID, Harness};
use lambda_http::Error;
use zendesk_jwt::lambda::aws::Aws;

const USAGE: &str = "usage: devserver [serve | init | env | mint sidebar [SUBDOMAIN INSTALLATION_ID]|session|todos [USER_ID]|sdk|idp | fixtures [DIR] | requests]";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if matches!(args.as_slice(), [] | ["serve"]) {
        zendesk_jwt::lambda::logging::init();
        return serve().await;
    }
    let env = DevEnvironment::load_or_create(dev_dir())?;
    let aws = Aws::from_env();
    match args.as_slice() {
        ["init"] => {
            env.provision(&aws.dynamodb()?, &aws.secrets_manager()?)
                .await?;
            eprintln!(
                "development keys in {}; tables and secrets provisioned",
                env.dir.display()
            );
        }
        ["env"] => {
            for (name, value) in env.variables(&format!("{}/dev/jwks.json", dev::LOCAL_ORIGIN)) {
                println!("export {name}='{value}'");
            }
        }
        ["mint", "sidebar"] => println!("{}", env.zaf_token(3600)),
        ["mint", "sidebar", subdomain, id] => {
            let id: u64 = id
                .parse()
                .map_err(|_| format!("{id:?} is not an installation id"))?;
            let installation = zendesk_jwt::ZafInstallation::new(*subdomain, id)
                .map_err(|problem| problem.to_string())?;
            println!("{}", env.zaf_token_of(&installation, 3600));
        }
        ["mint", "session"] => println!("{}", env.session(APP_GUID, 900)),
        ["mint", "todos"] => println!("{}", env.help_center_token(1, 3600)),
        ["mint", "todos", user] => {
            let user: u64 = user
                .parse()
                .map_err(|_| format!("{user:?} is not a user id"))?;
            println!("{}", env.help_center_token(user, 3600));
        }
        ["mint", "idp"] => println!("{}", env.idp_token("demo-user-1", 3600)),
        ["mint", "sdk"] => println!("{}", env.mint_user_token(&aws.dynamodb()?).await?),
        ["fixtures"] | ["fixtures", _] => {
            let dir = args.get(1).copied().unwrap_or("events");
            for fixture in devserver::fixtures::write_all(&env, dir.as_ref(), 3600)? {
                println!(
                    "{}.json {} {}",
                    fixture.name, fixture.function, fixture.expected_status
                );
            }
        }
        ["requests"] => print_requests(&env),
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

fn dev_dir() -> String {
    std::env::var("DEV_DIR").unwrap_or_else(|_| ".dev".into())
}

/// Ready-to-paste requests against the local server, with fresh tokens.
fn print_requests(env: &DevEnvironment) {
    let base = dev::LOCAL_ORIGIN;
    let zaf = env.zaf_token(3600);
    let session = env.session(APP_GUID, 900);
    let help_center = env.help_center_token(1, 3600);
    println!(
        r#"# The sidebar start page, as Zendesk POSTs it (200 text/html, with a session for the API):
curl -i -X POST '{base}/sidebar?origin=https%3A%2F%2Fexample.zendesk.com&app_guid={APP_GUID}' \
  --data-urlencode 'token={zaf}'

# The sidebar's API with that page's session (15 minutes): the installation's settings, a
# ticket's note, and saving it (version: the one last read, 0 for a new note; 409 if stale):
curl -i '{base}/sidebar/api/settings' -H 'Authorization: Bearer {session}' -H 'X-App-Guid: {APP_GUID}'
curl -i '{base}/sidebar/api/tickets/4321/note' -H 'Authorization: Bearer {session}' -H 'X-App-Guid: {APP_GUID}'
curl -i -X PUT '{base}/sidebar/api/tickets/4321/note' -H 'Authorization: Bearer {session}' \
  -H 'X-App-Guid: {APP_GUID}' -H 'Content-Type: application/json' -d '{{"note": "Call back on Monday", "version": 0}}'

# Help center user 1's to-do list, add an item, delete an item by id (ids are in every answer;
# deleting an id that is not there, like 1, is harmless and answers the list):
curl -i '{base}/todo_items' -H 'Authorization: Bearer {help_center}'
curl -i -X POST '{base}/todo_items' -H 'Authorization: Bearer {help_center}' \
  -H 'Content-Type: application/json' -d '{{"value": "Try the to-do API"}}'
curl -i -X DELETE '{base}/todo_items/1' -H 'Authorization: Bearer {help_center}'

# The SDK JWT exchange for the demo user:
curl -i -X POST '{base}/sdk/jwt' --data-urlencode 'user_token={user_token}'

# Messaging sign-in for the demo user (its external_id is demo-user-1), as the customer's page
# calls it for the Web Widget's zE('messenger', 'loginUser', …); a bearer token works as well:
curl -i -X POST '{base}/messaging/jwt' -H 'Origin: {base}' --data-urlencode 'user_token={user_token}'
curl -i -X POST '{base}/messaging/jwt' -H 'Authorization: Bearer {user_token}'
"#,
        user_token = env.demo_user_token,
    );
}

async fn serve() -> Result<(), Error> {
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT: {port:?} is not a port number"))?,
        Err(_) => 3000,
    };
    let mut functions = Functions::from_env()?;
    functions.dev_jwks =
        std::fs::read_to_string(std::path::Path::new(&dev_dir()).join("jwks.json"))
            .ok()
            .map(Arc::new);
    // The harness signs with the development keys, so it exists only where they do.
    if functions.dev_jwks.is_some() {
        functions.harness = Some(Arc::new(Harness::new(DevEnvironment::load_or_create(
            dev_dir(),
        )?)));
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving sidebar, todos and sdk-exchange");
    if functions.harness.is_some() {
        tracing::info!("browser harness: http://{addr}/harness");
    }
    devserver::serve(listener, functions).await?;
    Ok(())
}
