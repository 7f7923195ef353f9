#![allow(clippy::unwrap_used)]
use std::sync::Mutex;

use rockoon_core::render::{ChartGroup, Release};

use super::*;
use crate::plan::ServicePlan;

/// Helm as a list: records every call, fails the releases named in `failing`.
#[derive(Default)]
struct FakeHelm {
    failing: Vec<&'static str>,
    backing_off: Vec<&'static str>,
    calls: Mutex<Vec<String>>,
}

impl Releases for FakeHelm {
    async fn apply(&self, _: &str, service: &str, desired: &Desired) -> Result<(), HelmError> {
        let name = &desired.release.name;
        self.calls
            .lock()
            .unwrap()
            .push(format!("apply {service}/{name}"));
        if self.failing.contains(&name.as_str()) {
            return Err(HelmError::Template {
                message: "pod.replicas must be an integer, not s3cr3t".into(),
            });
        }
        Ok(())
    }

    async fn uninstall(&self, name: &str, _: &str) -> Result<(), HelmError> {
        self.calls.lock().unwrap().push(format!("uninstall {name}"));
        if self.failing.contains(&name) {
            return Err(HelmError::Failed {
                message: "uninstall: timed out waiting for the condition".into(),
            });
        }
        Ok(())
    }

    fn backing_off(&self, name: &str, _: &str) -> Option<HelmError> {
        self.backing_off.contains(&name).then(|| HelmError::Failed {
            message: "still failing".into(),
        })
    }
}

/// The report step as a list of what it was told.
#[derive(Default)]
struct Recorded {
    states: Mutex<Vec<BTreeMap<String, ServiceState>>>,
    uninstalled: Mutex<Vec<String>>,
}

impl Progress for Recorded {
    async fn states(&self, states: &BTreeMap<String, ServiceState>) -> Result<(), Error> {
        self.states.lock().unwrap().push(states.clone());
        Ok(())
    }

    async fn uninstalled(&self, release: &Installed) {
        self.uninstalled.lock().unwrap().push(release.name.clone());
    }
}

fn desired(name: &str, action: Action) -> Desired {
    Desired {
        release: Release {
            name: name.into(),
            chart: name.into(),
            group: ChartGroup::Openstack,
            version: None,
            namespace: "openstack".into(),
            values: serde_json::json!({}),
            fingerprint: "f".into(),
        },
        hash: "h".into(),
        action,
    }
}

fn service(name: &str, stage: u8, work: Work) -> ServicePlan {
    ServicePlan {
        service: name.into(),
        stage,
        work,
    }
}

fn installed(name: &str, service: &str) -> Installed {
    Installed {
        name: name.into(),
        revision: 1,
        status: "deployed".into(),
        hash: None,
        osdpl: Some("osh".into()),
        service: Some(service.into()),
    }
}

fn apply(names: &[&str]) -> Work {
    Work::Releases(
        names
            .iter()
            .map(|n| desired(n, Action::Apply(None)))
            .collect(),
    )
}

async fn run(
    plan: &Plan,
    world: &BTreeMap<String, Installed>,
    helm: &FakeHelm,
) -> (Outcome, Recorded) {
    let progress = Recorded::default();
    let rollout = Rollout {
        osdpl: "osh",
        namespace: "openstack",
        plan,
        world,
        secret_values: &["s3cr3t".to_owned()],
    };
    let outcome = rollout.run(helm, &progress).await.unwrap();
    (outcome, progress)
}

#[test]
fn a_later_stage_waits_for_an_earlier_service_with_nothing_installed() {
    let plan = Plan {
        services: vec![
            service("messaging", 0, Work::Waiting("credentials".into())),
            service("identity", 1, Work::Releases(vec![])),
        ],
        removals: vec![],
    };
    let states = initial_states(&plan, |_| None);
    assert_eq!(
        first_blocker(&plan, 1, &states, &BTreeMap::new()).as_deref(),
        Some("messaging")
    );
    let world = BTreeMap::from([(
        "openstack-rabbitmq".to_owned(),
        Installed {
            name: "openstack-rabbitmq".into(),
            revision: 1,
            status: "deployed".into(),
            hash: None,
            osdpl: Some("osh".into()),
            service: Some("messaging".into()),
        },
    )]);
    assert_eq!(
        first_blocker(&plan, 1, &states, &world),
        None,
        "installed before: go on"
    );
}

#[tokio::test]
async fn stages_run_in_order_and_each_is_reported_after_it_ran() {
    let plan = Plan {
        services: vec![
            service("database", 0, apply(&["openstack-mariadb"])),
            service("identity", 1, apply(&["openstack-keystone"])),
            service(
                "compute",
                2,
                apply(&["openstack-nova", "openstack-libvirt"]),
            ),
        ],
        removals: vec![],
    };
    let helm = FakeHelm::default();
    let (outcome, progress) = run(&plan, &BTreeMap::new(), &helm).await;
    assert_eq!(
        *helm.calls.lock().unwrap(),
        [
            "apply database/openstack-mariadb",
            "apply identity/openstack-keystone",
            "apply compute/openstack-nova",
            "apply compute/openstack-libvirt",
        ]
    );
    assert!(outcome.states.values().all(|s| *s == ServiceState::Applied));
    let reported = progress.states.lock().unwrap();
    assert_eq!(
        reported.len(),
        4,
        "before any helm work, then once per stage"
    );
    assert!(reported[0].values().all(|s| *s == ServiceState::Applying));
    assert_eq!(reported[1]["database"], ServiceState::Applied);
    assert_eq!(reported[1]["identity"], ServiceState::Applying);
}

#[tokio::test]
async fn a_failed_release_fails_its_service_with_helms_scrubbed_message_and_stops_its_later_releases()
 {
    let plan = Plan {
        services: vec![
            service("database", 0, apply(&["openstack-mariadb"])),
            service(
                "compute",
                2,
                apply(&["openstack-nova", "openstack-libvirt"]),
            ),
            service("image", 2, apply(&["openstack-glance"])),
        ],
        removals: vec![],
    };
    let helm = FakeHelm {
        failing: vec!["openstack-nova"],
        ..FakeHelm::default()
    };
    let world = BTreeMap::from([(
        "openstack-mariadb".to_owned(),
        installed("openstack-mariadb", "database"),
    )]);
    let (outcome, _) = run(&plan, &world, &helm).await;
    let ServiceState::Failed(cause) = &outcome.states["compute"] else {
        panic!("compute: {:?}", outcome.states["compute"]);
    };
    assert!(cause.starts_with("openstack-nova: pod.replicas"), "{cause}");
    assert!(
        !cause.contains("s3cr3t"),
        "a secret value reached users: {cause}"
    );
    assert_eq!(outcome.states["image"], ServiceState::Applied);
    assert!(outcome.failed());
    assert!(
        !helm
            .calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.contains("libvirt")),
        "a release after a failed one of the same service was applied"
    );
}

#[tokio::test]
async fn a_stage_behind_a_service_with_nothing_installed_waits_and_runs_no_helm() {
    let plan = Plan {
        services: vec![
            service("messaging", 0, Work::Waiting("credentials".into())),
            service("identity", 1, apply(&["openstack-keystone"])),
        ],
        removals: vec![],
    };
    let helm = FakeHelm::default();
    let (outcome, progress) = run(&plan, &BTreeMap::new(), &helm).await;
    assert!(helm.calls.lock().unwrap().is_empty());
    assert_eq!(
        outcome.states["identity"],
        ServiceState::Waiting("waiting for messaging to be installed".into())
    );
    assert_eq!(
        progress.states.lock().unwrap().len(),
        2,
        "before any helm work and after stage 0; the blocked stage adds none"
    );
}

#[tokio::test]
async fn a_release_backing_off_starts_failed_with_its_last_error() {
    let plan = Plan {
        services: vec![service("compute", 2, apply(&["openstack-nova"]))],
        removals: vec![],
    };
    let helm = FakeHelm {
        backing_off: vec!["openstack-nova"],
        ..FakeHelm::default()
    };
    let progress = Recorded::default();
    let world = BTreeMap::new();
    let rollout = Rollout {
        osdpl: "osh",
        namespace: "openstack",
        plan: &plan,
        world: &world,
        secret_values: &[],
    };
    rollout.run(&helm, &progress).await.unwrap();
    assert_eq!(
        progress.states.lock().unwrap()[0]["compute"],
        ServiceState::Failed("openstack-nova: still failing".into())
    );
}

#[tokio::test]
async fn unwanted_releases_are_uninstalled_their_service_shown_deleting_then_dropped() {
    let plan = Plan {
        services: vec![service(
            "identity",
            1,
            Work::Releases(vec![desired("openstack-keystone", Action::Skip)]),
        )],
        removals: vec![
            installed("openstack-tempest", "tempest"),
            installed("openstack-horizon", "dashboard"),
        ],
    };
    let helm = FakeHelm {
        failing: vec!["openstack-horizon"],
        ..FakeHelm::default()
    };
    let (outcome, progress) = run(&plan, &BTreeMap::new(), &helm).await;
    assert_eq!(
        progress.states.lock().unwrap()[0]["tempest"],
        ServiceState::Deleting
    );
    assert_eq!(*progress.uninstalled.lock().unwrap(), ["openstack-tempest"]);
    assert!(!outcome.states.contains_key("tempest"));
    assert_eq!(outcome.removal_failures.len(), 1);
    assert_eq!(outcome.removal_failures[0].0, "openstack-horizon");
    assert_eq!(outcome.removal_failures[0].1.kind(), "helm_failed");
}
