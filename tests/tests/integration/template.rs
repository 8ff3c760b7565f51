//! The SAM template's alarms and dashboard against the code: they may only name metrics,
//! dimensions and functions the functions write (an alarm on a metric nobody writes never fires),
//! the dashboard's body must be a dashboard (CloudFormation only checks it at deploy time), and
//! every alarm has its runbook in docs/OPERATIONS.md. `sam validate --lint` and `cfn-lint` check
//! the rest of the template (scripts/test).

use std::collections::BTreeSet;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};
use zendesk_jwt::lambda::metrics::{DIMENSION_NAMES, Function, METRIC_NAMES, RefusalReason};

const TEMPLATE: &str = include_str!("../../../template.yaml");
const OPERATIONS: &str = include_str!("../../../docs/OPERATIONS.md");

/// The namespace as the template writes it (resolved per stack by CloudFormation).
const NAMESPACE: &str = "ZendeskJwt/${AWS::StackName}";

fn template() -> Yaml {
    YamlLoader::load_from_str(TEMPLATE)
        .expect("template.yaml is YAML")
        .remove(0)
}

fn resources(template: &Yaml) -> Vec<(String, Yaml)> {
    template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .map(|(name, resource)| (name.as_str().unwrap().to_owned(), resource.clone()))
        .collect()
}

fn alarms(template: &Yaml) -> Vec<(String, Yaml)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .collect()
}

fn function_names() -> Vec<&'static str> {
    Function::ALL.iter().map(|f| f.name()).collect()
}

#[test]
fn the_functions_metrics_namespace_is_one_per_stack() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    // A tagged scalar (!Sub "…") reads as its string.
    assert_eq!(variables["METRICS_NAMESPACE"].as_str(), Some(NAMESPACE));
}

#[test]
fn every_alarm_says_in_one_line_what_it_means_and_notifies_the_alarm_topics() {
    let template = template();
    let alarms = alarms(&template);
    assert_eq!(alarms.len(), 19, "the alarms the runbook describes");
    for (name, alarm) in &alarms {
        let properties = &alarm["Properties"];
        let description = properties["AlarmDescription"].as_str().unwrap_or_default();
        assert!(
            !description.is_empty() && !description.contains('\n') && description.len() <= 1024,
            "{name}: {description:?}"
        );
        for actions in ["AlarmActions", "OKActions"] {
            let topics: Vec<&str> = properties[actions]
                .as_vec()
                .unwrap_or_else(|| panic!("{name} has no {actions}"))
                .iter()
                .map(|action| action[1].as_str().unwrap_or_default())
                .collect();
            assert_eq!(topics, ["AlarmTopic", "AlarmTopicArn"], "{name} {actions}");
        }
        assert_eq!(
            properties["TreatMissingData"].as_str(),
            Some("notBreaching"),
            "{name}: no traffic is no alarm"
        );
    }
}

#[test]
fn alarms_on_the_functions_metrics_name_what_the_functions_write() {
    let template = template();
    let mut custom = 0;
    for (name, alarm) in alarms(&template) {
        let properties = &alarm["Properties"];
        if properties["Namespace"].as_str() != Some(NAMESPACE) {
            continue;
        }
        custom += 1;
        let metric = properties["MetricName"].as_str().unwrap();
        assert!(METRIC_NAMES.contains(&metric), "{name}: {metric}");
        for dimension in properties["Dimensions"].as_vec().unwrap() {
            let dimension_name = dimension["Name"].as_str().unwrap();
            assert!(DIMENSION_NAMES.contains(&dimension_name), "{name}");
            if dimension_name == "Function" {
                let value = dimension["Value"].as_str().unwrap();
                assert!(function_names().contains(&value), "{name}: {value}");
            }
        }
    }
    assert_eq!(
        custom, 5,
        "refused tokens (3) and secret refresh failures (2)"
    );
}

/// The dashboard body with every `${…}` CloudFormation fills in replaced by a stand-in.
fn dashboard() -> Value {
    let template = template();
    let body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"][0]
        .as_str()
        .expect("DashboardBody is !Sub [body, variables]");
    let mut resolved = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        resolved.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let name = &rest[start + 2..end];
        resolved.push_str(match name {
            "Namespace" => "NAMESPACE",
            _ => name,
        });
        rest = &rest[end + 1..];
    }
    resolved.push_str(rest);
    serde_json::from_str(&resolved).expect("the dashboard body is JSON")
}

#[test]
fn the_dashboard_shows_every_alarm_and_graphs_only_what_the_functions_write() {
    let dashboard = dashboard();
    let widgets = dashboard["widgets"].as_array().unwrap();
    let mut custom_metrics = BTreeSet::new();
    let mut shown_alarms = BTreeSet::new();
    for widget in widgets {
        let properties = &widget["properties"];
        for key in ["x", "y", "width", "height"] {
            assert!(widget[key].is_u64(), "{widget}");
        }
        assert!(widget["x"].as_u64().unwrap() + widget["width"].as_u64().unwrap() <= 24);
        match widget["type"].as_str().unwrap() {
            "text" => assert!(properties["markdown"].is_string()),
            "alarm" => {
                for arn in properties["alarms"].as_array().unwrap() {
                    let name = arn.as_str().unwrap().strip_suffix(".Arn").unwrap();
                    shown_alarms.insert(name.to_owned());
                }
            }
            "metric" => {
                assert_eq!(properties["region"], "AWS::Region");
                for row in properties["metrics"].as_array().unwrap() {
                    if let Some(expression) = row["expression"].as_str() {
                        // SEARCH('{"NAMESPACE",Function…} MetricName="…" …', 'Sum', 300)
                        for quoted in expression.split("MetricName=\"").skip(1) {
                            let metric = quoted.split('"').next().unwrap();
                            if expression.contains("NAMESPACE") {
                                custom_metrics.insert(metric.to_owned());
                            }
                        }
                    } else if row[0] == "NAMESPACE" {
                        custom_metrics.insert(row[1].as_str().unwrap().to_owned());
                        assert_eq!(row[2], "Function", "{row}");
                        assert!(function_names().contains(&row[3].as_str().unwrap()));
                    }
                }
            }
            other => panic!("unexpected widget type {other}"),
        }
    }
    let alarms: BTreeSet<String> = alarms(&template()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(shown_alarms, alarms, "the alarm widget shows every alarm");
    let written: BTreeSet<String> = METRIC_NAMES.iter().map(|m| (*m).to_owned()).collect();
    assert_eq!(
        custom_metrics, written,
        "the dashboard graphs every metric the functions write, and no other"
    );
}

#[test]
fn the_log_level_cannot_be_raised_above_info_where_lambda_would_drop_the_metric_lines() {
    let template = template();
    let allowed: Vec<&str> = template["Parameters"]["LogLevel"]["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["TRACE", "DEBUG", "INFO"]);
}

#[test]
fn every_alarm_has_its_runbook_and_every_reason_class_is_explained() {
    for (name, _) in alarms(&template()) {
        assert!(
            OPERATIONS
                .lines()
                .any(|line| line.starts_with('#') && line.contains(&format!("`{name}`"))),
            "docs/OPERATIONS.md has no section for {name}"
        );
    }
    for reason in RefusalReason::ALL {
        assert!(
            OPERATIONS.contains(&format!("`{}`", reason.name())),
            "docs/OPERATIONS.md does not explain the reason class {}",
            reason.name()
        );
    }
}
