//! `installations`: the admin command for the sidebar's app installations (see the library).

use std::process::ExitCode;

use installations::{dynamodb_from_environment, parse, run};
use sidebar::admin::InstallationAdmin;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if matches!(args.as_slice(), ["-h" | "--help" | "help"]) {
        println!("{}", installations::USAGE);
        return ExitCode::SUCCESS;
    }
    let invocation = match parse(&args) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let Some(table) = invocation.table.or_else(|| {
        std::env::var("SIDEBAR_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
    }) else {
        eprintln!(
            "name the table with --table or SIDEBAR_TABLE (the stack's output SidebarTableName)"
        );
        return ExitCode::from(2);
    };
    let admin = InstallationAdmin::new(dynamodb_from_environment().await, table);
    match run(&admin, &invocation.command).await {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
