//! Support for the lifetime tests (`tests/integration/lifetime_*.rs`): months of use run in
//! seconds by moving each function instance's clock, with what they measure on the way.
//!
//! * [`schedule_days`]: how many simulated days a user runs: a year, or fewer for busy users in
//!   the README's test command (`LIFETIME_FULL_YEAR=1`, which `scripts/lifetime` sets, runs
//!   every user for the whole year).
//! * [`item_size`]: a DynamoDB item's size by DynamoDB's own rules (the 400 KB limit and the
//!   capacity units are counted on it).
//! * [`Report`]: the figures a run records (`LIFETIME_REPORT=file` writes them there).

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

/// A simulated day.
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The days of a year.
pub const YEAR_DAYS: u32 = 365;

/// The adds one user may make in the README's test command: a user making more a day runs
/// fewer days (the year at 200 adds a day is some 150,000 requests, minutes against DynamoDB
/// Local).
pub const ADDS_IN_THE_TEST_COMMAND: u32 = 1_500;

/// How many days a user making `adds_per_day` runs: the whole year with `LIFETIME_FULL_YEAR=1`,
/// else the year or [`ADDS_IN_THE_TEST_COMMAND`] adds, whichever is shorter (at least a week).
pub fn schedule_days(adds_per_day: u32) -> u32 {
    if std::env::var("LIFETIME_FULL_YEAR").is_ok_and(|v| v == "1") {
        return YEAR_DAYS;
    }
    (ADDS_IN_THE_TEST_COMMAND / adds_per_day.max(1)).clamp(7, YEAR_DAYS)
}

/// The size DynamoDB counts for `item`: each attribute's name (UTF-8 bytes) and value, where a
/// string is its UTF-8 bytes, a number 1 byte per two significant digits plus 1, a boolean or
/// null 1 byte, and a map or list 3 bytes plus 1 per element plus its elements (map keys
/// counted like names). The 400 KB item limit and the 1 KB write and 4 KB read units are counted
/// on it.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, value)| 1 + name.len() + value_size(value))
                .sum::<usize>()
        }
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        _ => 0,
    }
}

fn number_size(number: &str) -> usize {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

/// Write units a write of an item of `bytes` costs (1 KB each, at least 1).
pub fn write_units(bytes: usize) -> u64 {
    (bytes.div_ceil(1024) as u64).max(1)
}

/// Read units a strongly consistent read of an item of `bytes` costs (4 KB each, at least 1).
pub fn read_units(bytes: usize) -> u64 {
    (bytes.div_ceil(4096) as u64).max(1)
}

/// The cost table's rows for the list `list` (docs/PERFORMANCE.md, section 7): the read units
/// of a GET and the write units of a POST and of a DELETE. The tests hold the functions to the
/// table as it is written.
pub fn cost_table(list: &str) -> (f64, f64, f64) {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PERFORMANCE.md"),
    )
    .expect("docs/PERFORMANCE.md");
    let mut found = std::collections::BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 5 && cells[2] == list {
            let units = |cell: &str| cell.parse::<f64>().unwrap_or(0.0);
            found.insert(cells[1].to_owned(), (units(cells[4]), units(cells[5])));
        }
    }
    let units = |call: &str, column: fn(&(f64, f64)) -> f64| {
        found
            .get(call)
            .map(column)
            .unwrap_or_else(|| panic!("docs/PERFORMANCE.md has no {call} row for {list:?}"))
    };
    (
        units("GET /todo_items", |(read, _)| *read),
        units("POST /todo_items", |(_, write)| *write),
        units("DELETE /todo_items/{id}", |(_, write)| *write),
    )
}

/// What one simulated user's run measured, day by day.
#[derive(Default)]
pub struct Report {
    /// The user, as the figures name it.
    pub user: String,
    /// Per day: (day, item bytes, key records, to-dos, units of a GET, a POST and a DELETE).
    pub days: Vec<DayFigures>,
}

/// One day's figures, taken after the day's requests.
#[derive(Clone, Copy, Debug, Default)]
pub struct DayFigures {
    /// The day (1 is the first).
    pub day: u32,
    /// The user's item, in bytes.
    pub item_bytes: usize,
    /// The idempotency key records it holds.
    pub key_records: usize,
    /// The to-dos it holds.
    pub items: usize,
    /// Read units of a GET, write units of an add and of a delete (measured through the
    /// counting proxy).
    pub units: (f64, f64, f64),
    /// Write units of the key clean-up the measured add made, if it made one.
    pub cleanup_units: Option<f64>,
}

impl Report {
    /// A report for `user`.
    pub fn new(user: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            days: Vec::new(),
        }
    }

    /// The largest item and the most key records seen on any day.
    pub fn peaks(&self) -> (usize, usize) {
        (
            self.days.iter().map(|d| d.item_bytes).max().unwrap_or(0),
            self.days.iter().map(|d| d.key_records).max().unwrap_or(0),
        )
    }

    /// Append the figures of days 1, 7, 30, 90, 180 and the last, and the peaks, to the file
    /// `LIFETIME_REPORT` names (nothing when it is not set).
    pub fn write(&self) {
        let Ok(path) = std::env::var("LIFETIME_REPORT") else {
            return;
        };
        let last = self.days.last().map_or(0, |d| d.day);
        let mut text = String::new();
        for figures in self
            .days
            .iter()
            .filter(|d| [1, 7, 30, 90, 180, last].contains(&d.day))
        {
            let (get, post, delete) = figures.units;
            let cleanup = figures.cleanup_units.map_or("—".into(), |u| u.to_string());
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {get} | {post} | {delete} | {cleanup} |\n",
                self.user, figures.day, figures.items, figures.key_records, figures.item_bytes
            ));
        }
        let (bytes, records) = self.peaks();
        text.push_str(&format!(
            "| {} | peak over {last} days | | {records} | {bytes} | | | | |\n",
            self.user
        ));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("LIFETIME_REPORT {path}: {e}"));
        file.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("LIFETIME_REPORT {path}: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        let item = HashMap::from([
            ("owner".to_owned(), AttributeValue::S("acme#1".into())),
            ("n1".to_owned(), AttributeValue::N("12300".into())),
            ("ok".to_owned(), AttributeValue::Bool(true)),
            (
                "k".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "e".to_owned(),
                    AttributeValue::N("1700000000".into()),
                )])),
            ),
        ]);
        // owner 5 + 6; n1 2 + (3 digits: 2 + 1); ok 2 + 1; k 1 + (3 + 1 + 1 + (2 digits: 1 + 1))
        assert_eq!(item_size(&item), 11 + 5 + 3 + 8);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(read_units(4097), 2);
    }
}
