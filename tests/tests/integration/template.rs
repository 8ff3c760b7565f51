//! The SAM template's alarms and dashboard against the code: they may only name metrics,
//! dimensions and functions the functions write (an alarm on a metric nobody writes never fires),
//! the dashboard's body must be a dashboard (CloudFormation only checks it at deploy time), and
//! every alarm has its runbook in docs/OPERATIONS.md. And its hardening: each function may do
//! only what its code does (the sidebar's role cannot write an installation record), the route
//! limits are a circuit breaker far above real traffic with an alarm on their 429s, each function
//! has reserved concurrency, a per-client limit (CloudFront and a WAF rate rule, from
//! client-rate-limit.yaml) stands behind a condition, every log group has a retention, and the
//! access log holds no query string, body or credential. `sam validate --lint` and `cfn-lint`
//! check the rest of both templates (scripts/test).

use std::collections::BTreeSet;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};
use zendesk_jwt::lambda::metrics::{DIMENSION_NAMES, Function, METRIC_NAMES, RefusalReason};

const TEMPLATE: &str = include_str!("../../../template.yaml");
const CLIENT_RATE_LIMIT: &str = include_str!("../../../client-rate-limit.yaml");
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

/// The metrics the template's own metric filters write (counted from logs, not by a function).
fn metric_filter_metrics(template: &Yaml) -> BTreeSet<String> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Logs::MetricFilter"))
        .flat_map(|(_, r)| {
            r["Properties"]["MetricTransformations"]
                .as_vec()
                .unwrap()
                .iter()
                .map(|t| {
                    assert_eq!(t["MetricNamespace"].as_str(), Some(NAMESPACE));
                    t["MetricName"].as_str().unwrap().to_owned()
                })
                .collect::<Vec<_>>()
        })
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
fn every_table_has_its_throttle_and_system_error_alarms() {
    let template = template();
    let tables: Vec<String> = resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(tables.len(), 3, "{tables:?}");
    let alarms = alarms(&template);
    for table in &tables {
        for metric in ["ThrottledRequests", "SystemErrors"] {
            let watched = alarms.iter().any(|(_, alarm)| {
                let expression = format!("{:?}", alarm["Properties"]["Metrics"]);
                expression.contains(&format!("SUM({metric})"))
                    && expression.contains(&format!("${{{table}}}"))
            });
            assert!(watched, "no alarm on {metric} of {table}");
        }
    }
}

#[test]
fn every_alarm_says_in_one_line_what_it_means_and_notifies_the_alarm_topics() {
    let template = template();
    let alarms = alarms(&template);
    assert_eq!(alarms.len(), 25, "the alarms the runbook describes");
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
    let from_logs = metric_filter_metrics(&template);
    let mut custom = 0;
    for (name, alarm) in alarms(&template) {
        let properties = &alarm["Properties"];
        if properties["Namespace"].as_str() != Some(NAMESPACE) {
            continue;
        }
        custom += 1;
        let metric = properties["MetricName"].as_str().unwrap();
        if from_logs.contains(metric) {
            // Counted by a metric filter: no dimension.
            assert!(properties["Dimensions"].is_badvalue(), "{name}");
            continue;
        }
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
        custom, 9,
        "refused tokens (3), secret refresh failures (2), refused secrets (2), key clean-up failures (1) and the API's 429s (1)"
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
                        let metric = row[1].as_str().unwrap().to_owned();
                        if !metric_filter_metrics(&template()).contains(&metric) {
                            assert_eq!(row[2], "Function", "{row}");
                            assert!(function_names().contains(&row[3].as_str().unwrap()));
                        }
                        custom_metrics.insert(metric);
                    }
                }
            }
            other => panic!("unexpected widget type {other}"),
        }
    }
    let alarms: BTreeSet<String> = alarms(&template()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(shown_alarms, alarms, "the alarm widget shows every alarm");
    let mut written: BTreeSet<String> = METRIC_NAMES.iter().map(|m| (*m).to_owned()).collect();
    written.extend(metric_filter_metrics(&template()));
    assert_eq!(
        custom_metrics, written,
        "the dashboard graphs every metric the functions and the metric filters write, and no other"
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

fn functions(template: &Yaml) -> Vec<(String, Yaml)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .collect()
}

/// The AWS operations each function's code calls, as IAM actions: DynamoDB `.get_item()` and
/// `.update_item()` (functions/sidebar/src/store.rs, functions/todos/src/store.rs), `.get_item()`
/// (functions/sdk-exchange/src/users.rs) and Secrets Manager `.get_secret_value()`
/// (shared/src/lambda/secrets.rs); the sidebar's new notes are `.transact_write_items()` of two
/// updates, which IAM checks as `UpdateItem`s. The sidebar's `admin` module (`.put_item()`,
/// `.scan()`, `.query()`, `.delete_item()`, `.transact_write_items()`) is the `installations`
/// admin command's, run with an administrator's credentials, never the function's. The functions'
/// roles grant exactly these.
const ACTIONS_THE_CODE_USES: [(&str, &[&str]); 3] = [
    (
        "SidebarFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "secretsmanager:GetSecretValue",
        ],
    ),
    (
        "TodosFunction",
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    (
        "SdkExchangeFunction",
        &["dynamodb:GetItem", "secretsmanager:GetSecretValue"],
    ),
];

/// A function's policy statements, each with the condition it exists under: a statement written
/// `!If [Condition, statement, !Ref AWS::NoValue]` is `(Some("Condition"), statement)`.
fn statements(name: &str, function: &Yaml) -> Vec<(Option<String>, Yaml)> {
    let mut statements = Vec::new();
    for policy in function["Properties"]["Policies"].as_vec().unwrap() {
        let listed = policy["Statement"]
            .as_vec()
            .unwrap_or_else(|| panic!("{name}: only inline statements, no managed policies"));
        for statement in listed {
            match statement {
                Yaml::Hash(_) => statements.push((None, statement.clone())),
                Yaml::Array(branches) => {
                    assert_eq!(branches.len(), 3, "{name}: !If [condition, then, else]");
                    assert_eq!(branches[2].as_str(), Some("AWS::NoValue"), "{name}");
                    let condition = branches[0].as_str().unwrap().to_owned();
                    statements.push((Some(condition), branches[1].clone()));
                }
                other => panic!("{name}: unexpected statement {other:?}"),
            }
        }
    }
    statements
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        Yaml::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[test]
fn each_role_grants_only_what_its_code_calls_and_the_user_tokens_only_in_table_mode() {
    let template = template();
    let functions = functions(&template);
    let named: BTreeSet<&str> = functions.iter().map(|(n, _)| n.as_str()).collect();
    let listed: BTreeSet<&str> = ACTIONS_THE_CODE_USES.iter().map(|(n, _)| *n).collect();
    assert_eq!(named, listed, "every function's actions are listed");
    for (name, used) in ACTIONS_THE_CODE_USES {
        let function = &template["Resources"][name];
        let mut granted = BTreeSet::new();
        for (condition, statement) in statements(name, function) {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{name}");
            let actions = strings(&statement["Action"]);
            let resources = strings(&statement["Resource"]);
            assert!(!actions.is_empty() && !resources.is_empty(), "{name}");
            for action in &actions {
                assert!(used.contains(&action.as_str()), "{name} may {action}");
            }
            assert!(
                !resources.iter().any(|r| r.contains('*')),
                "{name}: {resources:?}"
            );
            // The user token table is read by the table resolver only.
            let names_user_tokens = resources.iter().any(|r| r.starts_with("UserTokensTable"));
            assert_eq!(
                names_user_tokens,
                condition.as_deref() == Some("UsesUserTokenTable"),
                "{name}: {resources:?} under {condition:?}"
            );
            granted.extend(actions);
        }
        let used: BTreeSet<String> = used.iter().map(|a| (*a).to_owned()).collect();
        assert_eq!(granted, used, "{name} is granted what its code calls");
    }
    let condition = strings(&template["Conditions"]["UsesUserTokenTable"]);
    assert_eq!(
        condition,
        ["UserTokenResolver", "table"],
        "!Equals [!Ref …, table]"
    );
}

/// A parameter's default, as a number.
fn default_of(template: &Yaml, parameter: &str) -> i64 {
    template["Parameters"][parameter]["Default"]
        .as_i64()
        .unwrap_or_else(|| panic!("{parameter} has a numeric default"))
}

/// The parameter group named `label`.
fn parameter_group(template: &Yaml, label: &str) -> Vec<String> {
    let group = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|group| group["Label"]["default"].as_str() == Some(label))
        .unwrap_or_else(|| panic!("no parameter group {label}"))
        .clone();
    strings(&group["Parameters"])
}

#[test]
fn the_route_limits_are_one_circuit_breaker_far_above_real_traffic() {
    let template = template();
    let api = &template["Resources"]["HttpApi"]["Properties"];
    // One bucket per route is shared by every client: no route may have limits of its own
    // (a low one would let anyone's junk lock real users out, as POST /sdk/jwt's 10/s did).
    assert!(
        api["RouteSettings"].is_badvalue(),
        "{:?}",
        api["RouteSettings"]
    );
    let defaults = &api["DefaultRouteSettings"];
    for (limit, at_least) in [
        ("ThrottlingRateLimit", 1000),
        ("ThrottlingBurstLimit", 2000),
    ] {
        assert_eq!(defaults[limit].as_str(), Some(limit), "{limit}");
        assert!(default_of(&template, limit) >= at_least, "{limit}");
        assert!(parameter_group(&template, "Operations").contains(&limit.to_owned()));
    }
    let throttling: Vec<&str> = template["Parameters"]
        .as_hash()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|k| k.contains("Throttling"))
        .collect();
    assert_eq!(throttling, ["ThrottlingRateLimit", "ThrottlingBurstLimit"]);
}

#[test]
fn each_function_has_reserved_concurrency_from_its_own_parameter() {
    let template = template();
    for (function, parameter, condition) in [
        (
            "SidebarFunction",
            "SidebarReservedConcurrency",
            "ReservesSidebarConcurrency",
        ),
        (
            "TodosFunction",
            "TodosReservedConcurrency",
            "ReservesTodosConcurrency",
        ),
        (
            "SdkExchangeFunction",
            "SdkExchangeReservedConcurrency",
            "ReservesSdkExchangeConcurrency",
        ),
    ] {
        // !If [condition, !Ref parameter, !Ref AWS::NoValue]: 0 reserves none (Lambda would
        // read a reserved concurrency of 0 as "never run").
        let reserved =
            strings(&template["Resources"][function]["Properties"]["ReservedConcurrentExecutions"]);
        assert_eq!(
            reserved,
            [condition, parameter, "AWS::NoValue"],
            "{function}"
        );
        assert_eq!(
            format!("{:?}", template["Conditions"][condition]),
            format!(
                "{:?}",
                YamlLoader::load_from_str(&format!("[[{parameter}, 0]]"))
                    .unwrap()
                    .remove(0)
            ),
            "{condition} is !Not [!Equals [!Ref {parameter}, 0]]"
        );
        let default = default_of(&template, parameter);
        assert!((1..=100).contains(&default), "{parameter}: {default}");
        assert_eq!(
            template["Parameters"][parameter]["MinValue"].as_i64(),
            Some(0)
        );
        assert!(parameter_group(&template, "Operations").contains(&parameter.to_owned()));
    }
}

#[test]
fn every_429_of_the_api_is_counted_and_raises_an_alarm() {
    let template = template();
    let filter = &template["Resources"]["ApiThrottledRequestsMetric"]["Properties"];
    assert_eq!(
        filter["LogGroupName"].as_str(),
        Some("HttpApiAccessLogGroup")
    );
    assert_eq!(
        filter["FilterPattern"].as_str(),
        Some(r#"{ $.status = "429" }"#)
    );
    // The access log writes the status as a string, which is what the pattern compares.
    let format = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .unwrap();
    assert!(format.contains(r#""status":"$context.status""#));
    let alarm = &template["Resources"]["ApiThrottledRequestsAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"].as_str(), Some(NAMESPACE));
    assert_eq!(alarm["MetricName"].as_str(), Some("ApiThrottledRequests"));
    assert_eq!(
        alarm["Threshold"].as_i64(),
        Some(1),
        "one 429 is one too many"
    );
}

#[test]
fn a_per_client_limit_is_cloudfront_with_a_waf_rate_rule_behind_a_condition() {
    let template = template();
    // The main stack: CloudFront in front of the API only when a web ACL is named, with it.
    assert_eq!(
        strings(&template["Conditions"]["FrontedByCloudFront"]),
        ["ClientWebAclArn", ""]
    );
    let distribution = &template["Resources"]["Distribution"];
    assert_eq!(
        distribution["Condition"].as_str(),
        Some("FrontedByCloudFront")
    );
    let config = &distribution["Properties"]["DistributionConfig"];
    assert_eq!(config["WebACLId"].as_str(), Some("ClientWebAclArn"));
    let origin = &config["Origins"][0];
    assert!(
        origin["DomainName"]
            .as_str()
            .unwrap()
            .starts_with("${HttpApi}.execute-api.")
    );
    assert_eq!(
        origin["CustomOriginConfig"]["OriginProtocolPolicy"].as_str(),
        Some("https-only")
    );
    let behaviour = &config["DefaultCacheBehavior"];
    assert_eq!(
        behaviour["ViewerProtocolPolicy"].as_str(),
        Some("https-only")
    );
    assert_eq!(
        strings(&behaviour["AllowedMethods"]).len(),
        7,
        "every method"
    );
    // The addresses Zendesk is given go through CloudFront when it is there.
    for output in ["SidebarUrl", "SdkJwtUrl", "TodoApiBaseUrl"] {
        let value = strings(&template["Outputs"][output]["Value"]);
        assert_eq!(value[0], "FrontedByCloudFront", "{output}");
        assert!(value[1].contains("${Distribution.DomainName}"), "{output}");
    }
    // The ARN can only be a CloudFront web ACL's, which lives in us-east-1.
    let pattern = template["Parameters"]["ClientWebAclArn"]["AllowedPattern"]
        .as_str()
        .unwrap();
    assert!(pattern.contains(":wafv2:us-east-1:") && pattern.contains("global/webacl"));
    assert!(
        parameter_group(&template, "Per-client limit (optional)")
            .contains(&"ClientWebAclArn".to_owned())
    );

    // The web ACL's own template: scope CLOUDFRONT, made only in us-east-1, a rate-based rule
    // per client address that blocks, every route but the SDK exchange's (Zendesk's servers).
    let waf = YamlLoader::load_from_str(CLIENT_RATE_LIMIT)
        .expect("client-rate-limit.yaml is YAML")
        .remove(0);
    assert_eq!(
        strings(&waf["Rules"]["CloudFrontWebAclsLiveInUsEast1"]["Assertions"][0]["Assert"]),
        ["AWS::Region", "us-east-1"]
    );
    let acl = &waf["Resources"]["WebAcl"];
    assert_eq!(acl["Type"].as_str(), Some("AWS::WAFv2::WebACL"));
    assert_eq!(acl["Properties"]["Scope"].as_str(), Some("CLOUDFRONT"));
    let rule = &acl["Properties"]["Rules"][0];
    assert!(!rule["Action"]["Block"].is_badvalue());
    let rate = &rule["Statement"]["RateBasedStatement"];
    assert_eq!(rate["AggregateKeyType"].as_str(), Some("IP"));
    assert_eq!(rate["Limit"].as_str(), Some("RequestsPerClient"));
    let skipped = &rate["ScopeDownStatement"]["NotStatement"]["Statement"]["ByteMatchStatement"];
    assert_eq!(skipped["SearchString"].as_str(), Some("/sdk/jwt"));
    assert_eq!(
        waf["Outputs"]["WebAclArn"]["Value"].as_str(),
        Some("WebAcl.Arn")
    );
}

#[test]
fn the_sidebar_role_cannot_create_or_enable_an_installation() {
    let template = template();
    let function = &template["Resources"]["SidebarFunction"];
    let mut updates = 0;
    for (_, statement) in statements("SidebarFunction", function) {
        let actions = strings(&statement["Action"]);
        if !actions.iter().any(|a| a == "dynamodb:UpdateItem") {
            continue;
        }
        updates += 1;
        assert_eq!(
            actions,
            ["dynamodb:UpdateItem"],
            "UpdateItem has a statement of its own"
        );
        // Only the attributes the notes API writes (keys included), as the code names them.
        let condition = &statement["Condition"];
        let allowed = strings(&condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]);
        assert_eq!(allowed, sidebar::store::NOTE_ATTRIBUTES, "{condition:?}");
        assert_eq!(condition.as_hash().unwrap().len(), 1, "{condition:?}");
        // None of them is an installation record's own: it can neither make one enabled, nor
        // change its name or settings.
        let record = sidebar::store::InstallationRecord {
            enabled: true,
            name: "Acme".into(),
            settings: Default::default(),
        }
        .to_item(&zendesk_jwt::ZafInstallation::new("acme", 1).unwrap(), 0);
        for attribute in record.keys() {
            let key = [sidebar::store::PARTITION_KEY, sidebar::store::SORT_KEY];
            assert_eq!(
                allowed.contains(attribute),
                key.contains(&attribute.as_str()) || attribute == "updated_at",
                "{attribute}"
            );
        }
    }
    assert_eq!(updates, 1);
}

#[test]
fn the_sidebar_table_lists_installations_from_an_index_of_records_only() {
    let template = template();
    let table = &template["Resources"]["SidebarTable"]["Properties"];
    let index = &table["GlobalSecondaryIndexes"][0];
    assert_eq!(
        index["IndexName"].as_str(),
        Some(sidebar::admin::INSTALLATIONS_INDEX)
    );
    let keys: Vec<&str> = index["KeySchema"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|k| k["AttributeName"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["subdomain", "installation_id"]);
    // Only installation records carry both attributes, so the index holds nothing else.
    for attribute in keys {
        assert!(!sidebar::store::NOTE_ATTRIBUTES.contains(&attribute));
    }
}

#[test]
fn settings_the_functions_read_can_be_set_from_the_template() {
    let template = template();
    for (function, variable, parameter, group) in [
        (
            "SdkExchangeFunction",
            "IDP_EMAIL_VERIFIED",
            "IdpEmailVerified",
            "SDK user tokens",
        ),
        (
            "TodosFunction",
            "HELP_CENTER_ISSUER",
            "HelpCenterIssuer",
            "Zendesk account",
        ),
        (
            "SidebarFunction",
            "MAX_NOTES_PER_INSTALLATION",
            "MaxNotesPerInstallation",
            "Operations",
        ),
    ] {
        let variables = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
        assert_eq!(variables[variable].as_str(), Some(parameter), "{variable}");
        assert!(parameter_group(&template, group).contains(&parameter.to_owned()));
    }
    let verified: Vec<String> =
        strings(&template["Parameters"]["IdpEmailVerified"]["AllowedValues"]);
    assert_eq!(verified, ["if-present", "required"]);
    assert_eq!(
        template["Parameters"]["IdpEmailVerified"]["Default"].as_str(),
        Some("if-present")
    );
    assert_eq!(
        template["Parameters"]["HelpCenterIssuer"]["Default"].as_str(),
        Some(""),
        "off unless set"
    );
}

fn log_groups(template: &Yaml) -> Vec<(String, Yaml)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Logs::LogGroup"))
        .collect()
}

#[test]
fn every_function_logs_to_a_group_of_the_stack_and_every_log_group_has_a_retention() {
    let template = template();
    let groups = log_groups(&template);
    // The functions' three and the HTTP API's access log.
    assert_eq!(groups.len(), 4);
    for (name, group) in &groups {
        assert_eq!(
            group["Properties"]["RetentionInDays"].as_str(),
            Some("LogRetentionDays"),
            "{name}"
        );
    }
    let retention = &template["Parameters"]["LogRetentionDays"];
    let allowed: Vec<i64> = retention["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(allowed.contains(&default_of(&template, "LogRetentionDays")));
    assert!(!allowed.contains(&0), "0 would be never expire");

    let global = &template["Globals"]["Function"]["LoggingConfig"];
    assert_eq!(global["LogFormat"].as_str(), Some("JSON"));
    assert!(global["LogGroup"].is_badvalue(), "one group per function");
    let mut used = BTreeSet::new();
    for (name, function) in functions(&template) {
        let group = function["Properties"]["LoggingConfig"]["LogGroup"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} names its log group"));
        assert!(
            groups.iter().any(|(g, _)| g == group),
            "{name}: {group} is a log group of the stack"
        );
        assert!(used.insert(group.to_owned()), "{name} shares {group}");
    }
}

#[test]
fn the_access_log_is_one_json_line_without_query_strings_bodies_or_credentials() {
    let template = template();
    let settings = &template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let destination = settings["DestinationArn"].as_str().unwrap();
    let group = destination.strip_suffix(".Arn").unwrap();
    assert_eq!(
        template["Resources"][group]["Type"].as_str(),
        Some("AWS::Logs::LogGroup"),
        "{destination}"
    );
    let format = settings["Format"].as_str().unwrap();
    assert!(!format.contains('\n'), "one line per request");
    let fields: serde_json::Map<String, Value> =
        serde_json::from_str(format).expect("the access log format is a JSON object");
    let variables: Vec<&str> = fields
        .values()
        .map(|v| v.as_str().expect("every value is a quoted variable"))
        .collect();
    for variable in ["$context.requestId", "$context.status"] {
        assert!(variables.contains(&variable), "{variable}");
    }
    let lower = format.to_ascii_lowercase();
    for carries in [
        "querystring",
        "body",
        "authorization",
        "requestoverride",
        "header",
        "$request.",
        "$context.path",
    ] {
        assert!(!lower.contains(carries), "the access log names {carries}");
    }
}

#[test]
fn messaging_sign_in_and_its_preflight_reach_sdk_exchange_which_may_read_its_key_and_no_other() {
    use sdk_exchange::messaging::{DEFAULT_TOKEN_LIFETIME, TOKEN_LIFETIME_SECONDS};
    let template = template();
    let function = &template["Resources"]["SdkExchangeFunction"];
    let routes: BTreeSet<String> = function["Properties"]["Events"]
        .as_hash()
        .unwrap()
        .values()
        .map(|event| {
            let properties = &event["Properties"];
            format!(
                "{} {}",
                properties["Method"].as_str().unwrap(),
                properties["Path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        routes,
        BTreeSet::from([
            "POST /sdk/jwt".to_owned(),
            "POST /messaging/jwt".to_owned(),
            // No CorsConfiguration on the API: the preflight must reach the function.
            "OPTIONS /messaging/jwt".to_owned(),
        ])
    );
    // The key: a placeholder the function refuses, kept when the stack goes, or the operator's.
    let secret = &template["Resources"]["MessagingSigningKeySecret"];
    assert_eq!(secret["Properties"]["SecretString"].as_str(), Some("unset"));
    assert_eq!(secret["Condition"].as_str(), Some("CreateMessagingSecret"));
    assert_eq!(secret["DeletionPolicy"].as_str(), Some("Retain"));
    let variables = &function["Properties"]["Environment"]["Variables"];
    let key = strings(&variables["MESSAGING_SIGNING_KEY_SECRET_ID"]);
    assert_eq!(
        key,
        [
            "CreateMessagingSecret",
            "MessagingSigningKeySecret",
            "MessagingSigningKeySecretArn"
        ]
    );
    // Exactly the SDK's secret and this key are readable.
    let readable: Vec<String> = statements("SdkExchangeFunction", function)
        .into_iter()
        .filter(|(_, statement)| {
            strings(&statement["Action"]).contains(&"secretsmanager:GetSecretValue".to_owned())
        })
        .flat_map(|(_, statement)| strings(&statement["Resource"]))
        .collect();
    let mut expected = vec![
        "CreateSdkSecret".to_owned(),
        "SdkSharedSecret".to_owned(),
        "SdkSharedSecretArn".to_owned(),
    ];
    expected.extend(key);
    assert_eq!(readable, expected);
    // The parameters: the site's origins, the lifetime within the code's bounds, the claim.
    assert_eq!(
        strings(&variables["MESSAGING_ALLOWED_ORIGINS"]),
        [",", "MessagingAllowedOrigins"]
    );
    assert_eq!(
        variables["MESSAGING_TOKEN_SECONDS"].as_str(),
        Some("MessagingTokenSeconds")
    );
    let lifetime = &template["Parameters"]["MessagingTokenSeconds"];
    assert_eq!(
        lifetime["Default"].as_i64(),
        Some(DEFAULT_TOKEN_LIFETIME.as_secs() as i64)
    );
    assert_eq!(
        lifetime["MinValue"].as_i64(),
        Some(*TOKEN_LIFETIME_SECONDS.start() as i64)
    );
    assert_eq!(
        lifetime["MaxValue"].as_i64(),
        Some(*TOKEN_LIFETIME_SECONDS.end() as i64)
    );
    assert_eq!(
        variables["IDP_EXTERNAL_ID_CLAIM"].as_str(),
        Some("IdpExternalIdClaim")
    );
    assert_eq!(
        template["Parameters"]["IdpExternalIdClaim"]["Default"].as_str(),
        Some("sub")
    );
    // The URL is the API's, or CloudFront's when the per-client limit is on.
    let url = format!("{:?}", template["Outputs"]["MessagingJwtUrl"]["Value"]);
    assert!(url.contains("FrontedByCloudFront"), "{url}");
    assert_eq!(url.matches("/messaging/jwt").count(), 2, "{url}");
}

#[test]
fn each_function_has_its_own_memory_size_as_a_parameter_with_the_measured_default() {
    let template = template();
    // The defaults chosen from docs/PERFORMANCE.md, "Cold path" (its cost table).
    for (function, parameter, chosen) in [
        ("SidebarFunction", "SidebarMemorySize", 512),
        ("TodosFunction", "TodosMemorySize", 512),
        ("SdkExchangeFunction", "SdkExchangeMemorySize", 256),
    ] {
        // The YAML reader drops the tag: `!Ref SidebarMemorySize` reads as its name.
        assert_eq!(
            template["Resources"][function]["Properties"]["MemorySize"].as_str(),
            Some(parameter),
            "{function}'s MemorySize is !Ref {parameter}"
        );
        assert_eq!(default_of(&template, parameter), chosen, "{parameter}");
        assert_eq!(
            template["Parameters"][parameter]["MinValue"].as_i64(),
            Some(128)
        );
        assert!(parameter_group(&template, "Operations").contains(&parameter.to_owned()));
    }
    assert!(
        template["Globals"]["Function"]["MemorySize"].is_badvalue(),
        "no global memory size hides a function's own"
    );
}
