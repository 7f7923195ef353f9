#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn covers_ignores_fields_of_other_writers_but_not_changed_values() {
    let actual = json!({"osdpl": {"state": "APPLIED", "health": "3/3"}, "health": {}});
    assert!(covers(&actual, &json!({"osdpl": {"state": "APPLIED"}})));
    assert!(!covers(&actual, &json!({"osdpl": {"state": "FAILED"}})));
    assert!(!covers(&actual, &json!({"osdpl": {"lcm_progress": "1/1"}})));
}

#[test]
fn a_dropped_service_counts_as_a_change() {
    let actual = json!({"services": {"a": {"state": "APPLIED"}, "b": {"state": "APPLIED"}}});
    let wanted = json!({"services": {"a": {"state": "APPLIED"}}});
    assert!(covers(&actual, &wanted));
    assert!(!same_service_keys(&actual, &wanted));
}

/// The API as a list of calls.
#[derive(Default)]
struct Calls(Mutex<Vec<String>>);

impl StatusCalls for Calls {
    async fn osdpl(&self, _: &str, name: &str, status: &OsdplStatus) -> kube::Result<()> {
        let state = status.state.clone().unwrap_or_default();
        self.0.lock().unwrap().push(format!("osdpl {name} {state}"));
        Ok(())
    }

    async fn create_osdplst(
        &self,
        _: &str,
        name: &str,
        owner: &OwnerReference,
    ) -> kube::Result<()> {
        let line = format!("create osdplst {name} owned by {}", owner.name);
        self.0.lock().unwrap().push(line);
        Ok(())
    }

    async fn osdplst(&self, _: &str, name: &str, status: &OsdplstStatus) -> kube::Result<()> {
        let services = status.services.clone().unwrap_or_default();
        let names: Vec<_> = services.keys().cloned().collect();
        let line = format!("osdplst {name} {}", names.join(","));
        self.0.lock().unwrap().push(line);
        Ok(())
    }

    async fn delete_osdplst(&self, _: &str, name: &str, uid: &str) -> kube::Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(format!("delete osdplst {name} {uid}"));
        Ok(())
    }
}

fn osdpl() -> OpenStackDeployment {
    serde_json::from_value(json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeployment",
        "metadata": {"name": "osh", "namespace": "openstack", "uid": "u-1", "generation": 3},
        "spec": {
            "openstack_version": "caracal", "preset": "core", "size": "tiny",
            "public_domain_name": "it.example.com",
        },
    }))
    .unwrap()
}

fn applied(services: &[&str]) -> Overall {
    Overall::Services(
        services
            .iter()
            .map(|s| ((*s).to_owned(), crate::state::ServiceState::Applied))
            .collect(),
    )
}

#[tokio::test]
async fn a_status_is_written_once_and_the_same_status_again_is_skipped() {
    let writer = Writer::new(Calls::default());
    let osdpl = osdpl();
    let status = osdpl_status(&osdpl, &applied(&["identity"]), Some("f1"), None);
    writer.osdpl(&osdpl, &status).await.unwrap();
    writer.osdpl(&osdpl, &status).await.unwrap();
    assert_eq!(*writer.calls.0.lock().unwrap(), ["osdpl osh APPLIED"]);
}

#[tokio::test]
async fn a_status_the_object_already_shows_is_not_written_even_after_a_restart() {
    let writer = Writer::new(Calls::default());
    let mut osdpl = osdpl();
    osdpl.status = Some(osdpl_status(
        &osdpl,
        &applied(&["identity"]),
        Some("f1"),
        None,
    ));
    // Built again later: the transition times come from the object, so nothing differs.
    let again = osdpl_status(&osdpl, &applied(&["identity"]), Some("f1"), None);
    writer.osdpl(&osdpl, &again).await.unwrap();
    assert!(writer.calls.0.lock().unwrap().is_empty());
    assert_eq!(again.observed_generation, Some(3));
}

#[tokio::test]
async fn the_osdplst_is_created_once_owned_by_the_osdpl_then_only_its_status_applied() {
    let writer = Writer::new(Calls::default());
    let osdpl = osdpl();
    let first = osdplst_status(&osdpl, &applied(&["identity"]), Some("f1"));
    writer.osdplst(&osdpl, None, &first).await.unwrap();
    let second = osdplst_status(&osdpl, &applied(&["identity", "image"]), Some("f1"));
    writer.osdplst(&osdpl, None, &second).await.unwrap();
    assert_eq!(
        *writer.calls.0.lock().unwrap(),
        [
            "create osdplst osh owned by osh",
            "osdplst osh identity",
            "osdplst osh identity,image",
        ]
    );
}

#[tokio::test]
async fn a_service_dropped_from_the_states_is_written_although_the_rest_is_shown() {
    let writer = Writer::new(Calls::default());
    let osdpl = osdpl();
    let shown = OpenStackDeploymentStatus {
        metadata: Default::default(),
        spec: Default::default(),
        status: Some(osdplst_status(
            &osdpl,
            &applied(&["identity", "tempest"]),
            None,
        )),
    };
    let wanted = osdplst_status(&osdpl, &applied(&["identity"]), None);
    writer.osdplst(&osdpl, Some(&shown), &wanted).await.unwrap();
    assert_eq!(*writer.calls.0.lock().unwrap(), ["osdplst osh identity"]);
}

fn shown(osdpl: &OpenStackDeployment, overall: &Overall) -> OpenStackDeploymentStatus {
    OpenStackDeploymentStatus {
        metadata: Default::default(),
        spec: Default::default(),
        status: Some(osdplst_status(osdpl, overall, Some("f1"))),
    }
}

#[tokio::test]
async fn an_osdplst_deleted_by_hand_is_created_again_with_the_whole_status() {
    let writer = Writer::new(Calls::default());
    let osdpl = osdpl();
    let status = osdplst_status(&osdpl, &applied(&["identity"]), Some("f1"));
    writer.osdplst(&osdpl, None, &status).await.unwrap();
    let on_screen = shown(&osdpl, &applied(&["identity"]));
    writer
        .osdplst(&osdpl, Some(&on_screen), &status)
        .await
        .unwrap();
    // Deleted by hand: the cache shows none, and the same status as before is wanted.
    writer.osdplst(&osdpl, None, &status).await.unwrap();
    assert_eq!(
        *writer.calls.0.lock().unwrap(),
        [
            "create osdplst osh owned by osh",
            "osdplst osh identity",
            "create osdplst osh owned by osh",
            "osdplst osh identity",
        ]
    );
}

#[tokio::test]
async fn deleting_an_osdplst_forgets_what_was_written_so_the_next_write_is_whole() {
    let writer = Writer::new(Calls::default());
    let osdpl = osdpl();
    let status = osdplst_status(&osdpl, &applied(&["identity"]), Some("f1"));
    writer.osdplst(&osdpl, None, &status).await.unwrap();
    let mut stale = shown(&osdpl, &applied(&["identity"]));
    stale.metadata.name = Some("osh".into());
    stale.metadata.uid = Some("st-1".into());
    writer.delete("u-1", &stale).await.unwrap();
    writer.osdplst(&osdpl, None, &status).await.unwrap();
    assert_eq!(
        writer.calls.0.lock().unwrap()[2..],
        [
            "delete osdplst osh st-1",
            "create osdplst osh owned by osh",
            "osdplst osh identity",
        ]
    );
}

#[test]
fn a_conflicting_osdpl_shows_state_conflict_and_a_conflict_condition_naming_the_owner() {
    let osdpl = osdpl();
    let conflict =
        Overall::Conflict("namespace openstack is owned by OpenStackDeployment first".into());
    let status = osdpl_status(&osdpl, &conflict, None, None);
    assert_eq!(status.state.as_deref(), Some("CONFLICT"));
    let conditions = status.conditions.unwrap();
    let found = conditions.iter().find(|c| c.type_ == "Conflict").unwrap();
    assert_eq!(found.status, "True");
    assert!(found.message.contains("first"), "{}", found.message);
    let summary = osdplst_status(&osdpl, &conflict, None).osdpl.unwrap();
    assert_eq!(summary.state.as_deref(), Some("CONFLICT"));
    assert!(summary.cause.unwrap().contains("first"));
    let owner = osdpl_status(&osdpl, &applied(&["identity"]), None, None);
    assert!(
        owner
            .conditions
            .unwrap()
            .iter()
            .all(|c| c.type_ != "Conflict")
    );
}

#[test]
fn an_unsupported_service_is_an_osdplst_entry_with_why_and_named_in_unsupported_services() {
    use crate::state::ServiceState;
    let osdpl = osdpl();
    let overall = Overall::Services(
        [
            ("identity".to_owned(), ServiceState::Applied),
            (
                "redis".to_owned(),
                ServiceState::Unsupported("no chart here".into()),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let settings = ["spec.features.stacklight: not rendered yet".to_owned()];
    let notes = Notes {
        unsupported: &settings,
        held: &[],
    };
    let status = osdpl_status(&osdpl, &overall, Some("f"), Some(notes));
    assert_eq!(status.state.as_deref(), Some("APPLIED"));
    let conditions = status.conditions.unwrap();
    let services = conditions
        .iter()
        .find(|c| c.type_ == "UnsupportedServices")
        .unwrap();
    assert_eq!(services.status, "True");
    assert_eq!(services.message, "redis: no chart here");
    let settings = conditions
        .iter()
        .find(|c| c.type_ == "UnsupportedSettings")
        .unwrap();
    assert_eq!(settings.status, "True");
    assert!(settings.message.contains("spec.features.stacklight"));
    let osdplst = osdplst_status(&osdpl, &overall, Some("f"));
    let redis = &osdplst.services.unwrap()["redis"];
    assert_eq!(redis.state.as_deref(), Some("UNSUPPORTED"));
    assert_eq!(redis.cause.as_deref(), Some("no chart here"));
    assert_eq!(osdplst.osdpl.unwrap().lcm_progress.as_deref(), Some("1/1"));
}

#[test]
fn a_held_main_release_is_named_in_its_condition_until_the_switch_goes() {
    let osdpl = osdpl();
    let held = ["openstack-nova (service compute): spec.migration.nova.deploy_main_service is false, so it is neither installed nor upgraded, and kept if it exists".to_owned()];
    let notes = Notes {
        unsupported: &[],
        held: &held,
    };
    let status = osdpl_status(&osdpl, &applied(&["compute"]), Some("f"), Some(notes));
    let condition = |status: &OsdplStatus| {
        let conditions = status.conditions.clone().unwrap();
        conditions
            .into_iter()
            .find(|c| c.type_ == "MainReleasesHeld")
            .unwrap()
    };
    let on = condition(&status);
    assert_eq!(
        (on.status.as_str(), on.reason.as_str()),
        ("True", "DeployMainServiceOff")
    );
    assert!(
        on.message.starts_with("openstack-nova (service compute): "),
        "{}",
        on.message
    );

    // A spec that does not render keeps what was reported; the next render clears it.
    let mut osdpl = osdpl;
    osdpl.status = Some(status);
    let kept = osdpl_status(&osdpl, &applied(&["compute"]), None, None);
    assert_eq!(condition(&kept).status, "True");
    let cleared = osdpl_status(
        &osdpl,
        &applied(&["compute"]),
        Some("f"),
        Some(Notes::default()),
    );
    let off = condition(&cleared);
    assert_eq!(
        (off.status.as_str(), off.reason.as_str()),
        ("False", "AllMainReleasesDeployed")
    );
}
