use super::*;

fn states(list: &[(&str, ServiceState)]) -> BTreeMap<String, ServiceState> {
    list.iter()
        .map(|(n, s)| ((*n).to_owned(), s.clone()))
        .collect()
}

#[test]
fn only_services_whose_state_changed_get_an_event() {
    let before = states(&[
        ("identity", ServiceState::Applied),
        ("compute", ServiceState::Applying),
    ]);
    let now = states(&[
        ("identity", ServiceState::Applied),
        ("compute", ServiceState::Failed("nova: boom".into())),
        ("image", ServiceState::Waiting("credentials".into())),
    ]);
    let events = transition_events(&words(&before), &now);
    let reasons: Vec<_> = events.iter().map(|(_, reason, _)| *reason).collect();
    assert_eq!(reasons, ["ApplyFailed", "Waiting"]);
    assert_eq!(events[0].0, EventType::Warning);
    assert_eq!(events[0].2, "compute: nova: boom");
}

#[test]
fn a_service_that_turned_applied_gets_a_normal_event_and_passing_states_none() {
    let before = states(&[("compute", ServiceState::Failed("x".into()))]);
    let now = states(&[
        ("compute", ServiceState::Applied),
        ("image", ServiceState::Applying),
        ("tempest", ServiceState::Deleting),
    ]);
    let events = transition_events(&words(&before), &now);
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].0, events[0].1), (EventType::Normal, "Applied"));
}

#[test]
fn the_same_states_again_make_no_event() {
    let now = states(&[("compute", ServiceState::Waiting("ceph".into()))]);
    assert!(transition_events(&words(&now), &now).is_empty());
}
