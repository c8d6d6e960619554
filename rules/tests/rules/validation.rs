//! Bad rule files are refused with an error naming the line (and column) of the problem.

use fleetlog_rules::{Condition, RuleFileError, parse};

fn error(text: &str) -> RuleFileError {
    match parse(text) {
        Ok(set) => panic!("expected an error, parsed {set:?}"),
        Err(e) => e,
    }
}

/// A valid file with `rule` appended as its second rule (which starts on line 7).
fn with_second_rule(rule: &str) -> String {
    format!(
        "version = 1\n\
         channels = [\"ops\"]\n\
         [[rule]]\n\
         name = \"first\"\n\
         when = {{ battery_pct_below = 10 }}\n\
         action = [{{ raise_alert = \"low\" }}]\n\
         {rule}"
    )
}

#[test]
fn a_valid_file_parses_into_typed_rules_with_their_lines() {
    let set = parse(&with_second_rule(
        "[[rule]]\nname = \"second\"\nwhen = { silent_for_s = 60 }\naction = [{ notify = \"ops\" }]\n",
    ))
    .expect("valid");
    assert_eq!(set.version, 1);
    assert_eq!(set.rules.len(), 2);
    assert_eq!(set.rules[1].line, 7);
    assert_eq!(set.rules[1].when, Condition::SilentFor { ms: 60_000 });
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let e = error("version = 1\n[[rule]]\nname = \"x\nwhen = 3\n");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.column >= 8, "{e}");
}

#[test]
fn an_unknown_key_is_refused_on_its_line() {
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"second\"\nwhen = { battery_pct_below = 5 }\nactoin = []\n",
    ));
    assert_eq!(e.line, 10, "{e}");
    assert!(e.message.contains("actoin"), "{e}");
}

#[test]
fn an_unknown_condition_or_work_order_kind_is_refused_on_its_line() {
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"second\"\nwhen = { speed_above = 5 }\naction = [{ notify = \"ops\" }]\n",
    ));
    assert_eq!(e.line, 9, "{e}");
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"second\"\nwhen = { battery_pct_below = 5 }\n\
         action = [{ open_work_order = { kind = \"polish\" } }]\n",
    ));
    assert_eq!(e.line, 10, "{e}");
    assert!(e.message.contains("polish"), "{e}");
}

#[test]
fn a_duplicate_rule_name_names_the_line_of_the_second_one() {
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"first\"\nwhen = { battery_pct_below = 5 }\naction = [{ notify = \"ops\" }]\n",
    ));
    assert_eq!((e.line, e.column), (8, 8), "{e}");
    assert!(e.message.contains("duplicate rule name"), "{e}");
}

#[test]
fn a_threshold_outside_0_to_100_is_refused_on_its_line() {
    for bad in ["-1", "101"] {
        let e = error(&with_second_rule(&format!(
            "[[rule]]\nname = \"second\"\nwhen = {{ battery_pct_below = {bad} }}\n\
             action = [{{ notify = \"ops\" }}]\n"
        )));
        assert_eq!(e.line, 9, "{e}");
        assert!(e.message.contains("0..=100"), "{e}");
    }
}

#[test]
fn a_polygon_of_fewer_than_three_distinct_points_is_refused_on_its_line() {
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"second\"\n\
         when = { enter_zone = { polygon = [[13.4, 52.5], [13.5, 52.5], [13.4, 52.5]] } }\n\
         action = [{ notify = \"ops\" }]\n",
    ));
    assert_eq!(e.line, 9, "{e}");
    assert!(e.message.contains("at least 3"), "{e}");
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"second\"\nwhen = { enter_zone = { polygon = [] } }\n\
         action = [{ notify = \"ops\" }]\n",
    ));
    assert_eq!(e.line, 9, "{e}");
}

#[test]
fn a_bad_time_window_is_refused_on_its_line() {
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"second\"\nwhen = { enter_zone = { polygon = [[13.4, 52.5], \
         [13.5, 52.5], [13.5, 52.6]], window = \"7:00-25:00\" } }\n\
         action = [{ notify = \"ops\" }]\n",
    ));
    assert_eq!(e.line, 9, "{e}");
    assert!(e.message.contains("7:00-25:00"), "{e}");
}

#[test]
fn a_channel_not_declared_is_refused_on_the_line_of_the_action() {
    let e = error(&with_second_rule(
        "[[rule]]\nname = \"second\"\nwhen = { battery_pct_below = 5 }\n\
         [[rule.action]]\nnotify = \"pager\"\n",
    ));
    assert_eq!((e.line, e.column), (11, 10), "{e}");
    assert!(e.message.contains("\"pager\" is not declared"), "{e}");
}

#[test]
fn any_channel_is_accepted_when_none_are_declared() {
    let set = parse(
        "version = 1\n[[rule]]\nname = \"a\"\nwhen = { alarm = \"SOS\" }\n\
         action = [{ notify = \"anything\" }]\n",
    );
    assert!(set.is_ok(), "{set:?}");
}

#[test]
fn a_clears_when_that_does_not_fit_the_condition_is_refused() {
    for (when, clear) in [
        ("battery_pct_below = 20", "\"seen_again\""),
        ("battery_pct_below = 20", "{ battery_pct_above = 10 }"),
        ("silent_for_s = 60", "\"zone_exit\""),
        ("alarm = \"FALL\"", "{ battery_pct_above = 50 }"),
    ] {
        let e = error(&with_second_rule(&format!(
            "[[rule]]\nname = \"second\"\nwhen = {{ {when} }}\nclears_when = {clear}\n\
             action = [{{ notify = \"ops\" }}]\n"
        )));
        assert_eq!(e.line, 10, "{when} / {clear}: {e}");
    }
}

#[test]
fn unknown_alarms_device_commands_without_values_and_empty_actions_are_refused() {
    let cases = [
        (
            "when = { alarm = \"FAL\" }\naction = [{ notify = \"ops\" }]",
            "unknown alarm",
        ),
        (
            "when = { alarm = \"FALL\" }\naction = [{ device_command = { kind = \"speed_limit\" } }]",
            "needs a value",
        ),
        ("when = { alarm = \"FALL\" }\naction = []", "at least one"),
    ];
    for (body, expected) in cases {
        let e = error(&with_second_rule(&format!(
            "[[rule]]\nname = \"second\"\n{body}\n"
        )));
        assert!(e.message.contains(expected), "{body}: {e}");
        assert!((8..=10).contains(&e.line), "{body}: {e}");
    }
}

#[test]
fn the_error_reads_as_line_column_message() {
    let e = error("version = 0\n");
    assert_eq!(
        e.to_string(),
        "line 1, column 11: version must be a positive integer"
    );
}
