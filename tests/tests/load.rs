//! The short soak that every test run includes: ten seconds of mixed load from 32 clients on the
//! three functions running in a process of their own (the `soak` program; `scripts/soak SECONDS`
//! runs the long one), then the table, the server's memory and its whole debug log are checked.

use std::process::Command;

use serde_json::Value;

#[test]
fn ten_seconds_of_mixed_load_leave_no_5xx_no_lost_item_no_growth_and_no_secret_in_the_logs() {
    // GIVEN the soak program, WHEN it runs for ten seconds against the local services,
    let output = Command::new(env!("CARGO_BIN_EXE_soak"))
        .arg("10")
        .output()
        .expect("the soak program runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // THEN every check passed,
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}\n{stderr}"));
    let statuses = &report["statuses"];
    // AND it was a real mixed load: reads, writes, the cap reached, refusals, thousands of
    // requests,
    assert!(report["requests"].as_u64().unwrap() > 500, "{report}");
    for status in ["200", "201", "401", "403", "409"] {
        assert!(
            statuses[status].as_u64().unwrap_or(0) > 0,
            "no {status}: {report}"
        );
    }
    // AND what a user would notice is fine: no 5xx, nothing lost or duplicated, memory flat, no
    // secret in the logs.
    assert_eq!(report["server_errors"], 0, "{report}");
    assert_eq!(report["failures"], 0, "{report}");
    assert_eq!(report["log"]["secrets_found"], 0, "{report}");
    assert!(
        report["log"]["debug_lines"].as_u64().unwrap() > 0,
        "{report}"
    );
}
