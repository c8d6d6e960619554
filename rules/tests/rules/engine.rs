//! Given rules, when inputs arrive, then these actions (and only these) are taken.

use fleetlog_rules::{ActionKind, DeviceCommand, Priority, WorkOrderKind};
use fleetlog_schemas::events::AlarmKind;

use crate::support::*;

fn operations() -> World {
    World::given(&example("operations.toml"))
}

fn slow_zone() -> World {
    World::given(&example("slow-zone.toml"))
}

#[test]
fn a_battery_dropping_below_the_threshold_raises_the_alert_opens_the_work_order_and_notifies_once()
{
    let mut w = operations();
    w.battery(50);
    w.advance(MINUTE);
    let actions = w.battery(12);
    assert_eq!(
        kinds(&actions),
        vec![
            alert("low_battery"),
            ActionKind::OpenWorkOrder {
                kind: WorkOrderKind::BatterySwap,
                priority: Priority::High,
            },
            ActionKind::Notify {
                channel: "ops-webhook".into()
            },
        ]
    );
    w.advance(MINUTE);
    assert!(w.battery(10).is_empty(), "still low: nothing new");
    assert!(w.battery(9).is_empty());
}

#[test]
fn every_action_names_its_rule_version_target_and_the_event_that_caused_it() {
    let mut w = operations();
    w.registered();
    let actions = w.battery(5);
    let cause = w.last_input();
    assert!(!actions.is_empty());
    for a in &actions {
        assert_eq!(a.rule, "low-battery-swap");
        assert_eq!(a.rule_version, 1);
        assert_eq!(a.target.device_id, DEVICE);
        assert_eq!(a.target.vehicle_id, Some(VEHICLE));
        assert_eq!(a.caused_by, cause);
        assert_eq!(a.at_ms, w.now);
    }
}

#[test]
fn the_alert_and_work_order_close_themselves_when_a_swapped_battery_reads_high_again() {
    let mut w = operations();
    w.battery(10);
    w.advance(MINUTE);
    assert!(
        w.battery(30).is_empty(),
        "30 % is inside the hysteresis band"
    );
    let actions = w.battery(95);
    assert_eq!(
        kinds(&actions),
        vec![
            cleared("low_battery"),
            ActionKind::CloseWorkOrder {
                kind: WorkOrderKind::BatterySwap
            },
        ]
    );
    assert_eq!(actions[0].caused_by, w.last_input());
    assert_eq!(w.engine.open_alerts().count(), 0);
    assert_eq!(w.engine.open_work_orders().count(), 0);
}

#[test]
fn a_battery_flapping_around_the_threshold_is_counted_not_re_raised() {
    let mut w = operations();
    w.battery(14);
    for _ in 0..5 {
        w.advance(MINUTE);
        assert!(w.battery(16).is_empty());
        assert!(w.battery(14).is_empty());
    }
    assert_eq!(w.flaps("low-battery-swap"), 5);
    assert_eq!(
        w.log
            .iter()
            .filter(|a| a.kind == alert("low_battery"))
            .count(),
        1
    );
}

#[test]
fn a_device_silent_for_the_duration_is_noticed_by_a_tick_and_cleared_when_it_reports() {
    let mut w = operations();
    w.connected();
    w.advance(19 * MINUTE);
    assert!(w.tick().is_empty(), "19 minutes is not 20");
    w.advance(MINUTE);
    let actions = w.tick();
    assert_eq!(
        kinds(&actions),
        vec![
            alert("silent"),
            ActionKind::OpenWorkOrder {
                kind: WorkOrderKind::Investigate,
                priority: Priority::Normal,
            },
        ]
    );
    assert_eq!(actions[0].caused_by, w.last_input(), "caused by the tick");
    w.advance(MINUTE);
    assert!(w.tick().is_empty(), "still silent: raised once");
    let back = w.battery(80);
    assert_eq!(
        kinds(&back),
        vec![
            cleared("silent"),
            ActionKind::CloseWorkOrder {
                kind: WorkOrderKind::Investigate
            },
        ]
    );
}

#[test]
fn a_device_never_heard_from_is_never_silent() {
    let mut w = operations();
    w.advance(365 * 24 * 60 * MINUTE);
    assert!(w.tick().is_empty());
}

#[test]
fn entering_a_slow_zone_in_its_window_limits_the_speed_and_leaving_it_clears_the_alert() {
    let mut w = slow_zone();
    // T0 is 15:06 UTC: inside 07:00-22:00.
    assert!(w.at(OUTSIDE).is_empty());
    let entry = w.at(IN_ZONE);
    assert_eq!(
        kinds(&entry),
        vec![
            ActionKind::DeviceCommand(DeviceCommand::SpeedLimit { kmh: 10 }),
            alert("in_slow_zone"),
        ]
    );
    assert!(w.at(IN_ZONE).is_empty(), "staying inside is no new entry");
    assert_eq!(kinds(&w.at(OUTSIDE)), vec![cleared("in_slow_zone")]);
}

#[test]
fn entering_a_slow_zone_outside_its_window_does_nothing() {
    let mut w = slow_zone();
    w.advance(8 * 60 * MINUTE); // 23:06 UTC
    w.at(OUTSIDE);
    assert!(w.at(IN_ZONE).is_empty());
}

#[test]
fn an_invalid_fix_inside_the_zone_is_no_entry() {
    let mut w = slow_zone();
    let actions = w.telemetry(|t| {
        t.lat_e7 = IN_ZONE.lat_e7;
        t.lon_e7 = IN_ZONE.lon_e7;
        t.position_valid = false;
    });
    assert!(actions.is_empty());
}

#[test]
fn an_alarm_in_telemetry_fires_and_a_record_without_it_clears_it() {
    let mut w = operations();
    let fall = w.telemetry(|t| t.alarms = vec![AlarmKind::Fall]);
    assert_eq!(
        kinds(&fall),
        vec![
            ActionKind::OpenWorkOrder {
                kind: WorkOrderKind::Repair,
                priority: Priority::Urgent
            },
            ActionKind::Notify {
                channel: "ops-email".into()
            },
        ]
    );
    assert!(w.telemetry(|t| t.alarms = vec![AlarmKind::Fall]).is_empty());
    let up = w.telemetry(|t| t.alarms = vec![]);
    assert_eq!(
        kinds(&up),
        vec![ActionKind::CloseWorkOrder {
            kind: WorkOrderKind::Repair
        }]
    );
}

#[test]
fn alarm_events_on_the_fleet_topic_fire_and_clear_the_same_rule() {
    let mut w = operations();
    assert_eq!(w.alarm_raised(AlarmKind::Fall).len(), 2);
    assert!(w.alarm_raised(AlarmKind::Tamper).is_empty());
    assert_eq!(w.alarm_cleared(AlarmKind::Fall).len(), 1);
}

#[test]
fn a_rule_without_clears_when_re_arms_when_its_condition_stops_holding() {
    let mut w = slow_zone();
    let tamper = |w: &mut World| w.telemetry(|t| t.alarms = vec![AlarmKind::Tamper]);
    assert_eq!(tamper(&mut w).len(), 2);
    assert!(tamper(&mut w).is_empty());
    w.telemetry(|t| t.alarms = vec![]);
    assert_eq!(
        kinds(&tamper(&mut w)),
        vec![
            ActionKind::DeviceCommand(DeviceCommand::Lock),
            ActionKind::Notify {
                channel: "security".into()
            },
        ]
    );
}

#[test]
fn an_explicit_clear_alert_closes_an_alert_another_rule_raised_and_only_if_open() {
    let mut w = World::given(
        r#"
version = 2

[[rule]]
name = "low"
when = { battery_pct_below = 20 }
[[rule.action]]
raise_alert = "battery"

[[rule]]
name = "power-cut-resets"
when = { alarm = "POWER_CUT" }
[[rule.action]]
clear_alert = "battery"
"#,
    );
    let cut = |w: &mut World, on: bool| {
        w.telemetry(|t| {
            t.alarms = if on {
                vec![AlarmKind::PowerCut]
            } else {
                vec![]
            }
        })
    };
    assert!(
        cut(&mut w, true).is_empty(),
        "nothing open: nothing to clear"
    );
    cut(&mut w, false);
    assert_eq!(kinds(&w.battery(10)), vec![alert("battery")]);
    let reset = cut(&mut w, true);
    assert_eq!(kinds(&reset), vec![cleared("battery")]);
    assert_eq!(reset[0].rule, "power-cut-resets");
    assert_eq!(w.engine.open_alerts().count(), 0);
}

#[test]
fn devices_are_independent() {
    let mut w = operations();
    w.battery(10);
    w.device = "other".into();
    let other = w.battery(10);
    assert_eq!(other.len(), 3);
    assert!(other.iter().all(|a| a.target.device_id == "other"));
    assert_eq!(w.engine.open_alerts().count(), 2);
}
