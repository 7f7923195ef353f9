//! A whole-deployment OpenStack upgrade on the dev cluster: the preset `core` with compute and
//! networking (MariaDB, RabbitMQ, memcached, keystone, placement, glance, neutron with Open
//! vSwitch, nova with libvirt, on the upstream charts), upgraded caracal → epoxy → flamingo by
//! the real `rockoon-osdpl`, gated on the real `rockoon-health`: the services one at a time in
//! Rockoon's order (from the `UpgradeStep` events), each service's helm upgrade and its charts'
//! Jobs within its step (from their times), the images switched, and at the end every release's
//! stored values equal value by value to a fresh render of flamingo.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster_or_return;
use crate::small::Small;
use crate::upgrade::{
    diff_whole, report_times, service_in_its_step, start, step_events, step_names,
    steps_in_sequence, stored_images,
};

/// The preset `core` without these: compute and networking stay.
const LEFT_OUT: &[&str] = &["~coordination", "~ingress", "~dashboard"];
/// The steps, in Rockoon's order for the services this OSDPL enables.
const STEPS: &[&str] = &[
    "infra",
    "identity",
    "placement",
    "image",
    "networking",
    "compute",
    "final-apply",
];
/// Per OpenStack service step: its main release and Jobs it must run, in hook-weight order.
const SERVICES: &[(&str, &str, &[&str])] = &[
    (
        "identity",
        "openstack-keystone",
        &["keystone-db-sync", "keystone-bootstrap"],
    ),
    ("placement", "openstack-placement", &["placement-db-sync"]),
    (
        "image",
        "openstack-glance",
        &["glance-db-sync", "glance-bootstrap"],
    ),
    (
        "networking",
        "openstack-neutron",
        &["neutron-db-init", "neutron-db-sync"],
    ),
    ("compute", "openstack-nova", &["nova-db-sync"]),
];

#[tokio::test]
async fn an_osdpl_with_compute_and_networking_upgrades_caracal_to_epoxy_to_flamingo_service_by_service()
 {
    let cluster = cluster_or_return!();
    let _slot = rockoon_tests::harness::deployment_slot().await;
    let small =
        Small::applied_leaving_out(&cluster, &cluster, "upgrade-cmp", LEFT_OUT, json!({})).await;
    let mut health = start(&cluster, "health", &small.ns.name);
    health.wait_ready(Duration::from_secs(60)).await.unwrap();

    for (from, to, tag) in [
        ("caracal", "epoxy", "2025.1"),
        ("epoxy", "flamingo", "2025.2"),
    ] {
        let started = Instant::now();
        small.merge_spec(json!({"openstack_version": to})).await;
        let done = small
            .status_until(&format!("{from} → {to} done"), |s| {
                s["upgrade"]["state"] == "DONE"
                    && s["upgrade"]["to"] == to
                    && s["osdpl"]["state"] == "APPLIED"
            })
            .await;
        report_times(
            &format!("{from} → {to} (compute)"),
            started.elapsed(),
            &done,
        );
        let names: Vec<&Value> = done["upgrade"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["name"])
            .collect();
        assert_eq!(names, STEPS, "the plan");
        assert_eq!(step_names(&step_events(&small).await, from, to), STEPS);
        steps_in_sequence(&done);
        // nova's Jobs that are not hooks were deleted before its helm upgrade and ran again.
        let compute = &done["upgrade"]["steps"][STEPS.len() - 2];
        for job in ["nova-bootstrap", "nova-cell-setup"] {
            for list in ["purged", "jobs"] {
                let names = compute[list].to_string();
                assert!(
                    names.contains(job),
                    "{job} not in compute's {list}: {names}"
                );
            }
        }
        for (step, release, jobs) in SERVICES {
            service_in_its_step(&small, &done, step, release, jobs).await;
            let images = stored_images(&small, release).await.to_string();
            assert!(images.contains(tag), "{release} not on {tag}: {images}");
        }
    }

    let (code, text) = diff_whole(&cluster, &small, "flamingo").await;
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("WAITING"), "{text}");
    health.terminate(Duration::from_secs(20)).await.unwrap();
    small.finish().await;
}
