//! Random input sequences through the engine: it never panics, replaying the same
//! sequence gives the same actions, and no (rule, target) ever has two open alerts.

use std::collections::{BTreeMap, BTreeSet};

use fleetlog_rules::{Action, ActionKind, Engine, Input, parse};
use fleetlog_schemas::events::{
    AlarmKind, DisconnectReason, SessionChange, SessionDisconnected, SessionEvent,
};
use proptest::prelude::*;

use crate::support::*;

/// Both examples' rules plus explicit clears, in one file.
fn all_rules() -> String {
    let mut text = example("operations.toml");
    let zone = example("slow-zone.toml");
    let zone_rules = zone.split_once("version = 3").map_or("", |(_, rest)| rest);
    text.push_str(zone_rules.replace("\"security\"", "\"ops-email\"").as_str());
    text.push_str(
        "\n[[rule]]\nname = \"sos-resets\"\nwhen = { alarm = \"SOS\" }\n\
         [[rule.action]]\nclear_alert = \"low_battery\"\n\
         [[rule.action]]\nclose_work_order = { kind = \"battery_swap\" }\n",
    );
    text
}

#[derive(Debug, Clone)]
enum Step {
    Advance(i64),
    Jump(i64),
    Device(u8),
    Battery(Option<i32>),
    Position {
        inside: bool,
        valid: bool,
    },
    Anywhere {
        lat_e7: i32,
        lon_e7: i32,
        battery: i32,
    },
    Alarms(Vec<AlarmKind>),
    Connected,
    Disconnected,
    Registered,
    AlarmEvent(AlarmKind, bool),
    Tick,
}

fn alarm() -> impl Strategy<Value = AlarmKind> {
    prop_oneof![
        Just(AlarmKind::Fall),
        Just(AlarmKind::Tamper),
        Just(AlarmKind::Sos),
        Just(AlarmKind::PowerCut),
        Just(AlarmKind::Other),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0i64..30 * MINUTE).prop_map(Step::Advance),
        1 => any::<i64>().prop_map(Step::Jump),
        2 => (0u8..3).prop_map(Step::Device),
        4 => proptest::option::of(-10i32..120).prop_map(Step::Battery),
        3 => (any::<bool>(), any::<bool>()).prop_map(|(inside, valid)| Step::Position { inside, valid }),
        1 => (any::<i32>(), any::<i32>(), any::<i32>())
            .prop_map(|(lat_e7, lon_e7, battery)| Step::Anywhere { lat_e7, lon_e7, battery }),
        2 => proptest::collection::vec(alarm(), 0..3).prop_map(Step::Alarms),
        1 => Just(Step::Connected),
        1 => Just(Step::Disconnected),
        1 => Just(Step::Registered),
        2 => (alarm(), any::<bool>()).prop_map(|(a, on)| Step::AlarmEvent(a, on)),
        3 => Just(Step::Tick),
    ]
}

/// The inputs a step sequence produces, built by a [`World`] (ids and times deterministic).
fn recorded(steps: &[Step]) -> Vec<Input> {
    let mut w = World::given(&all_rules());
    for step in steps {
        run(&mut w, step);
    }
    w.applied
}

fn run(w: &mut World, step: &Step) {
    match step {
        Step::Advance(ms) => w.advance(*ms),
        Step::Jump(at) => w.now = *at,
        Step::Device(n) => w.device = format!("dev-{n}"),
        Step::Battery(b) => {
            let b = *b;
            w.telemetry(|t| t.battery_pct = b);
        }
        Step::Position { inside, valid } => {
            let (p, valid) = (if *inside { IN_ZONE } else { OUTSIDE }, *valid);
            w.telemetry(|t| {
                t.lat_e7 = p.lat_e7;
                t.lon_e7 = p.lon_e7;
                t.position_valid = valid;
            });
        }
        Step::Anywhere {
            lat_e7,
            lon_e7,
            battery,
        } => {
            let (lat_e7, lon_e7, battery) = (*lat_e7, *lon_e7, *battery);
            w.telemetry(|t| {
                t.lat_e7 = lat_e7;
                t.lon_e7 = lon_e7;
                t.battery_pct = Some(battery);
            });
        }
        Step::Alarms(list) => {
            let list = list.clone();
            w.telemetry(|t| t.alarms = list);
        }
        Step::Connected => {
            w.connected();
        }
        Step::Disconnected => {
            let (id, session_id) = (w.next_id(), w.next_id());
            let event = SessionEvent {
                session_id,
                device_id: w.device.clone(),
                gateway_id: "gw-1".into(),
                at_ms: w.now,
                change: SessionChange::SessionDisconnected(SessionDisconnected {
                    reason: DisconnectReason::IdleTimeout,
                    detail: None,
                    frames: 3,
                }),
            };
            w.apply(Input::Session { id, event });
        }
        Step::Registered => {
            w.registered();
        }
        Step::AlarmEvent(a, true) => {
            w.alarm_raised(*a);
        }
        Step::AlarmEvent(a, false) => {
            w.alarm_cleared(*a);
        }
        Step::Tick => {
            w.tick();
        }
    }
}

fn replay(inputs: &[Input]) -> (Vec<Action>, Engine) {
    let set = parse(&all_rules()).expect("valid rules");
    let mut engine = Engine::new(set);
    let actions = inputs.iter().flat_map(|i| engine.apply(i)).collect();
    (actions, engine)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_input_sequence_is_evaluated_without_panicking_and_replays_to_the_same_actions(steps in proptest::collection::vec(step(), 0..80)) {
        let inputs = recorded(&steps);
        let (first, _) = replay(&inputs);
        let (second, _) = replay(&inputs);
        prop_assert_eq!(first, second);
    }

    #[test]
    fn no_rule_and_target_ever_has_two_open_alerts(steps in proptest::collection::vec(step(), 0..80)) {
        let inputs = recorded(&steps);
        let set = parse(&all_rules()).expect("valid rules");
        let mut engine = Engine::new(set);
        let mut open: BTreeSet<(String, String)> = BTreeSet::new();
        for input in &inputs {
            for a in engine.apply(input) {
                let slot = (a.target.device_id.clone(), alert_key(&a));
                match &a.kind {
                    ActionKind::RaiseAlert { .. } => prop_assert!(open.insert(slot), "raised twice: {a:?}"),
                    ActionKind::ClearAlert { .. } => prop_assert!(open.remove(&slot), "cleared unopened: {a:?}"),
                    _ => {}
                }
            }
            let mut per_rule: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for (device, _, rule) in engine.open_alerts() {
                *per_rule.entry((rule, device)).or_default() += 1;
            }
            prop_assert!(per_rule.values().all(|n| *n <= 1), "{per_rule:?}");
        }
        prop_assert_eq!(open.len(), engine.open_alerts().count());
    }
}

fn alert_key(a: &Action) -> String {
    match &a.kind {
        ActionKind::RaiseAlert { key } | ActionKind::ClearAlert { key } => key.clone(),
        _ => String::new(),
    }
}

#[test]
fn the_combined_rule_file_is_valid() {
    let set = parse(&all_rules()).expect("valid");
    assert_eq!(set.rules.len(), 6);
}
