#![allow(clippy::unwrap_used)]
//! The certificate step against an in-memory namespace that plays the API's create (409 on an
//! existing name) and refuses every patch: certificates are only ever created.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::*;

#[derive(Default)]
struct Namespace {
    secrets: Mutex<BTreeMap<String, Secret>>,
    gets: Mutex<usize>,
}

impl Namespace {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        self.secrets.lock().unwrap()
    }

    fn cached(&self) -> Vec<Arc<Secret>> {
        self.lock().values().cloned().map(Arc::new).collect()
    }

    fn gets(&self) -> usize {
        *self.gets.lock().unwrap()
    }
}

impl SecretCalls for Namespace {
    async fn get(&self, name: &str) -> Result<Option<Secret>, kube::Error> {
        *self.gets.lock().unwrap() += 1;
        Ok(self.lock().get(name).cloned())
    }

    async fn create(&self, secret: &Secret) -> Result<bool, kube::Error> {
        let name = secret.metadata.name.clone().unwrap();
        let mut secrets = self.lock();
        if secrets.contains_key(&name) {
            return Ok(false);
        }
        secrets.insert(name, secret.clone());
        Ok(true)
    }

    async fn merge(&self, name: &str, _patch: &Value) -> Result<bool, kube::Error> {
        panic!("certificate Secret {name} patched: they are create-only");
    }
}

const BOTH: &[&Set] = &[&certificates::LIBVIRT, &certificates::VNC];

fn osdpl(spec: Value) -> OpenStackDeployment {
    serde_json::from_value(json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeployment",
        "metadata": {"name": "osh", "namespace": "openstack"},
        "spec": spec,
    }))
    .unwrap()
}

#[tokio::test]
async fn every_set_asked_for_is_created_whole_and_a_second_pass_writes_and_reads_nothing() {
    let ns = Namespace::default();
    let first = ensure(&ns, BOTH, &[]).await.unwrap();
    assert_eq!(
        first.created,
        [
            "libvirt-tls-ca",
            "libvirt-tls-server",
            "libvirt-tls-client",
            "libvirt-vnc-tls-ca",
            "libvirt-vnc-tls-server",
            "nova-novncproxy-vencrypt"
        ]
    );
    assert!(first.verdict().ok);
    let before = ns.lock().clone();
    let gets = ns.gets();
    let second = ensure(&ns, BOTH, &ns.cached()).await.unwrap();
    assert!(second.created.is_empty());
    assert_eq!(ns.gets(), gets, "a complete cache costs no request");
    assert_eq!(*ns.lock(), before, "nothing regenerated");
}

#[tokio::test]
async fn a_cache_lagging_behind_the_api_reads_again_and_regenerates_nothing() {
    let ns = Namespace::default();
    ensure(&ns, BOTH, &[]).await.unwrap();
    let before = ns.lock().clone();
    let again = ensure(&ns, BOTH, &[]).await.unwrap();
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!(*ns.lock(), before);
}

#[tokio::test]
async fn a_deleted_leaf_is_issued_again_from_its_ca_and_the_rest_stays_byte_for_byte() {
    let ns = Namespace::default();
    ensure(&ns, BOTH, &[]).await.unwrap();
    let removed = ns.lock().remove("libvirt-tls-client").unwrap();
    let before = ns.lock().clone();
    let outcome = ensure(&ns, BOTH, &ns.cached()).await.unwrap();
    assert_eq!(outcome.created, ["libvirt-tls-client"]);
    let after = ns.lock().clone();
    for (name, secret) in &before {
        assert_eq!(after.get(name), Some(secret), "{name} untouched");
    }
    let reissued = &after["libvirt-tls-client"];
    assert_ne!(reissued.data, removed.data, "a new key and certificate");
    assert_eq!(
        reissued.data.as_ref().unwrap()["cacert.pem"],
        before["libvirt-tls-server"].data.as_ref().unwrap()["cacert.pem"],
        "the same CA"
    );
}

#[tokio::test]
async fn generated_secrets_carry_the_set_label_and_no_owner_reference() {
    let ns = Namespace::default();
    ensure(&ns, &[&certificates::VNC], &[]).await.unwrap();
    for secret in ns.lock().values() {
        let labels = secret.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[SET_LABEL], "libvirt-vnc-tls");
        assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY);
        assert!(secret.metadata.owner_references.is_none());
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    }
    let proxy = &ns.lock()["nova-novncproxy-vencrypt"];
    let keys: Vec<&str> = proxy
        .data
        .as_ref()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["ca.crt", "tls.crt", "tls.key"],
        "what the nova chart mounts"
    );
}

#[tokio::test]
async fn a_set_that_cannot_be_completed_is_reported_by_secret_name_without_key_material() {
    let ns = Namespace::default();
    ensure(&ns, BOTH, &[]).await.unwrap();
    ns.lock().remove("libvirt-tls-ca");
    ns.lock().remove("libvirt-tls-server");
    let outcome = ensure(&ns, BOTH, &ns.cached()).await.unwrap();
    assert!(outcome.created.is_empty());
    let verdict = outcome.verdict();
    assert!(!verdict.ok);
    assert_eq!(verdict.reason, "CertificateProblem");
    assert!(
        verdict.message.contains("libvirt-tls-server")
            && verdict.message.contains("libvirt-tls-ca"),
        "{}",
        verdict.message
    );
    assert!(!verdict.message.contains("BEGIN"), "{}", verdict.message);
}

#[test]
fn the_sets_follow_the_settings_and_need_the_compute_service() {
    let names = |o: &OpenStackDeployment| needed(o).iter().map(|s| s.name).collect::<Vec<_>>();
    let tls = json!({"nova": {
        "libvirt": {"tls": {"enabled": true}},
        "console": {"novnc": {"tls": {"enabled": true}}},
    }});
    let compute = osdpl(json!({
        "openstack_version": "epoxy", "preset": "compute", "size": "tiny",
        "public_domain_name": "it.example.com", "features": tls,
    }));
    assert_eq!(names(&compute), ["libvirt-tls", "libvirt-vnc-tls"]);
    let mut without_compute = tls.clone();
    without_compute["services"] = json!(["~compute"]);
    let no_compute = osdpl(json!({
        "openstack_version": "epoxy", "preset": "compute", "size": "tiny",
        "public_domain_name": "it.example.com", "features": without_compute,
    }));
    assert!(
        names(&no_compute).is_empty(),
        "nothing mounts them without compute"
    );
    let off = osdpl(json!({
        "openstack_version": "epoxy", "preset": "compute", "size": "tiny",
        "public_domain_name": "it.example.com",
    }));
    assert!(names(&off).is_empty());
}
