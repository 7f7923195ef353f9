#![allow(clippy::unwrap_used)]
use super::*;
use rockoon_core::render::ChartGroup;
use serde_json::json;

fn release(name: &str, fingerprint: &str) -> Release {
    Release {
        name: name.into(),
        chart: "chart".into(),
        group: ChartGroup::Openstack,
        version: None,
        namespace: "openstack".into(),
        values: json!({}),
        fingerprint: fingerprint.into(),
    }
}

fn rendered(services: Vec<(&str, ServiceOutcome)>) -> Rendered {
    Rendered {
        fingerprint: "f".into(),
        services: services
            .into_iter()
            .map(|(s, o)| (s.to_owned(), o))
            .collect(),
        precache: vec![],
        unsupported: Vec::new(),
        held: Vec::new(),
    }
}

fn ready(releases: Vec<Release>) -> ServiceOutcome {
    ServiceOutcome::Ready { releases }
}

fn installed(name: &str, revision: u32, status: &str, hash: &str, service: &str) -> Installed {
    Installed {
        name: name.into(),
        revision,
        status: status.into(),
        hash: Some(hash.into()),
        osdpl: Some("osh".into()),
        service: Some(service.into()),
    }
}

fn by_name(list: Vec<Installed>) -> BTreeMap<String, Installed> {
    list.into_iter().map(|r| (r.name.clone(), r)).collect()
}

fn identity(_: &Release) -> String {
    "chart-v1".into()
}

fn actions(plan: &Plan) -> Vec<(String, Action)> {
    plan.services
        .iter()
        .flat_map(|s| match &s.work {
            Work::Releases(r) => r
                .iter()
                .map(|d| (d.release.name.clone(), d.action))
                .collect(),
            Work::Waiting(_) => vec![],
        })
        .collect()
}

#[test]
fn an_identical_deployed_release_is_skipped_and_a_changed_one_applied() {
    let keystone = release("openstack-keystone", "a");
    let nova = release("openstack-nova", "b");
    let hash_keystone = desired_hash(&keystone, "chart-v1");
    let world = by_name(vec![
        installed(
            "openstack-keystone",
            3,
            "deployed",
            &hash_keystone,
            "identity",
        ),
        installed("openstack-nova", 3, "deployed", "stale", "compute"),
    ]);
    let r = rendered(vec![
        ("identity", ready(vec![keystone])),
        ("compute", ready(vec![nova])),
    ]);
    let plan = plan("osh", &r, &world, &Identities::of(&r, identity));
    assert_eq!(
        actions(&plan),
        vec![
            ("openstack-keystone".into(), Action::Skip),
            ("openstack-nova".into(), Action::Apply(None))
        ]
    );
    assert!(plan.has_work());
}

#[test]
fn a_new_chart_changes_the_hash_so_the_release_is_upgraded() {
    let keystone = release("openstack-keystone", "a");
    let world = by_name(vec![installed(
        "openstack-keystone",
        1,
        "deployed",
        &desired_hash(&keystone, "chart-v1"),
        "identity",
    )]);
    let r = rendered(vec![("identity", ready(vec![keystone]))]);
    let plan = plan(
        "osh",
        &r,
        &world,
        &Identities::of(&r, |_| "chart-v2".into()),
    );
    assert_eq!(actions(&plan)[0].1, Action::Apply(None));
}

#[test]
fn nothing_to_do_when_everything_is_deployed_as_rendered() {
    let keystone = release("openstack-keystone", "a");
    let world = by_name(vec![installed(
        "openstack-keystone",
        1,
        "deployed",
        &desired_hash(&keystone, "chart-v1"),
        "identity",
    )]);
    let r = rendered(vec![("identity", ready(vec![keystone]))]);
    assert!(!plan("osh", &r, &world, &Identities::of(&r, identity)).has_work());
}

#[test]
fn stuck_releases_are_rolled_back_or_cleared_before_applying() {
    let world = by_name(vec![
        installed("openstack-keystone", 4, "pending-upgrade", "x", "identity"),
        installed("openstack-glance", 1, "pending-install", "x", "image"),
    ]);
    let r = rendered(vec![
        ("identity", ready(vec![release("openstack-keystone", "a")])),
        ("image", ready(vec![release("openstack-glance", "a")])),
    ]);
    assert_eq!(
        actions(&plan("osh", &r, &world, &Identities::of(&r, identity))),
        vec![
            (
                "openstack-keystone".into(),
                Action::Apply(Some(Recovery::Rollback))
            ),
            (
                "openstack-glance".into(),
                Action::Apply(Some(Recovery::Uninstall))
            )
        ]
    );
}

#[test]
fn a_failed_release_is_applied_again_even_with_the_same_hash() {
    let keystone = release("openstack-keystone", "a");
    let hash = desired_hash(&keystone, "chart-v1");
    let world = by_name(vec![installed(
        "openstack-keystone",
        2,
        "failed",
        &hash,
        "identity",
    )]);
    let r = rendered(vec![("identity", ready(vec![keystone]))]);
    assert_eq!(
        actions(&plan("osh", &r, &world, &Identities::of(&r, identity)))[0].1,
        Action::Apply(None)
    );
}

#[test]
fn only_our_unwanted_releases_are_removed_latest_stage_first() {
    let world = by_name(vec![
        installed("openstack-memcached", 1, "deployed", "h", "memcached"),
        installed("openstack-heat", 1, "deployed", "h", "orchestration"),
        installed("openstack-nova-rabbitmq", 1, "deployed", "h", "messaging"),
        Installed {
            osdpl: Some("another".into()),
            ..installed("other-osdpl-release", 1, "deployed", "h", "orchestration")
        },
        Installed {
            osdpl: None,
            ..installed("hand-made", 1, "deployed", "h", "x")
        },
    ]);
    let r = rendered(vec![(
        "messaging",
        ready(vec![release("openstack-rabbitmq", "a")]),
    )]);
    let removed: Vec<String> = plan("osh", &r, &world, &Identities::of(&r, identity))
        .removals
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        removed,
        vec![
            "openstack-heat",
            "openstack-memcached",
            "openstack-nova-rabbitmq"
        ]
    );
}

#[test]
fn releases_of_an_enabled_service_that_waits_are_kept() {
    let world = by_name(vec![installed(
        "openstack-nova",
        1,
        "deployed",
        "h",
        "compute",
    )]);
    let r = rendered(vec![(
        "compute",
        ServiceOutcome::Waiting {
            reason: "waiting for Ceph".into(),
        },
    )]);
    let plan = plan("osh", &r, &world, &Identities::of(&r, identity));
    assert!(plan.removals.is_empty());
    assert!(!plan.has_work());
}

#[test]
fn a_held_main_release_is_neither_applied_nor_removed_while_the_rest_of_its_service_applies() {
    let world = by_name(vec![installed(
        "openstack-nova",
        3,
        "deployed",
        "old",
        "compute",
    )]);
    let mut r = rendered(vec![(
        "compute",
        ready(vec![release("openstack-libvirt", "a")]),
    )]);
    r.held.push(rockoon_core::render::held::Held {
        service: "compute".into(),
        release: "openstack-nova".into(),
        chart: "nova".into(),
        setting: "spec.migration.nova.deploy_main_service".into(),
    });
    let plan = plan("osh", &r, &world, &Identities::of(&r, identity));
    assert!(plan.removals.is_empty(), "{:?}", plan.removals);
    assert_eq!(
        actions(&plan),
        [("openstack-libvirt".to_owned(), Action::Apply(None))]
    );
}

fn labelled(name: &str, owner: Option<&str>, service: &str) -> Installed {
    Installed {
        osdpl: owner.map(Into::into),
        ..installed(name, 1, "pending-upgrade", "old", service)
    }
}

#[test]
fn a_release_labelled_as_another_osdpls_is_never_touched_and_its_service_waits_naming_it() {
    let rendered = rendered(vec![
        ("compute", ready(vec![release("openstack-nova", "f")])),
        ("image", ready(vec![release("openstack-glance", "f")])),
    ]);
    let world = by_name(vec![
        // Stuck too: no rollback either.
        labelled("openstack-nova", Some("other"), "compute"),
        labelled("openstack-libvirt", Some("other"), "compute"),
    ]);
    let plan = plan(
        "osh",
        &rendered,
        &world,
        &Identities::of(&rendered, identity),
    );
    assert_eq!(
        actions(&plan),
        [("openstack-glance".to_owned(), Action::Apply(None))]
    );
    let compute = plan
        .services
        .iter()
        .find(|s| s.service == "compute")
        .unwrap();
    let Work::Waiting(reason) = &compute.work else {
        panic!("compute must wait: {:?}", compute.work);
    };
    assert!(
        reason.contains("openstack-nova") && reason.contains("other"),
        "{reason}"
    );
    assert!(plan.removals.is_empty(), "{:?}", plan.removals);
}

#[test]
fn our_releases_of_a_service_blocked_by_a_foreign_release_are_not_removed() {
    let rendered = rendered(vec![(
        "compute",
        ready(vec![
            release("openstack-nova", "f"),
            release("openstack-placement", "f"),
        ]),
    )]);
    let world = by_name(vec![
        labelled("openstack-nova", Some("other"), "compute"),
        labelled("openstack-placement", Some("osh"), "compute"),
    ]);
    let plan = plan(
        "osh",
        &rendered,
        &world,
        &Identities::of(&rendered, identity),
    );
    assert!(plan.removals.is_empty(), "{:?}", plan.removals);
    assert!(!plan.has_work());
}

#[test]
fn a_release_nobody_living_owns_is_adopted_and_listed_as_such() {
    let rendered = rendered(vec![(
        "memcached",
        ready(vec![release("openstack-memcached", "f")]),
    )]);
    let world = by_name(vec![labelled(
        "openstack-memcached",
        Some("gone"),
        "memcached",
    )]);
    let world = without_dead_owners(world, |name| name == "osh");
    let plan = plan(
        "osh",
        &rendered,
        &world,
        &Identities::of(&rendered, identity),
    );
    assert_eq!(
        actions(&plan),
        [(
            "openstack-memcached".to_owned(),
            Action::Apply(Some(Recovery::Uninstall))
        )]
    );
    assert_eq!(adoptions(&plan, &world), ["openstack-memcached"]);
}

#[test]
fn releases_of_living_osdpls_keep_their_owner_and_our_own_are_never_adoptions() {
    let world = by_name(vec![
        labelled("a", Some("osh"), "memcached"),
        labelled("b", Some("other"), "memcached"),
    ]);
    let world = without_dead_owners(world, |name| name == "osh" || name == "other");
    assert_eq!(world["a"].osdpl.as_deref(), Some("osh"));
    assert_eq!(world["b"].osdpl.as_deref(), Some("other"));
    let rendered = rendered(vec![("memcached", ready(vec![release("a", "f")]))]);
    let plan = plan(
        "osh",
        &rendered,
        &world,
        &Identities::of(&rendered, identity),
    );
    assert!(adoptions(&plan, &world).is_empty());
}
