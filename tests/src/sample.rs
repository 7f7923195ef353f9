//! What the sample OSDPLs expect to find besides themselves, created on the dev cluster as
//! the platform operator and Ceph would: the Secrets its `value_from` references read (a
//! self-signed public TLS certificate, an OIDC client secret, Vault AppRole ids) and Ceph's
//! published keys. Values are random per run. Also the sample OSDPL objects themselves,
//! re-targeted at a test namespace.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::devcluster::workspace_root;

/// Label the Secrets referenced by `value_from.secret_key_ref` carry.
const OSDPL_SECRET_LABEL: (&str, &str) = ("openstack.lcm.mirantis.com/osdpl_secret", "true");

/// Creates (or leaves as they are) the referenced Secrets in `namespace` and Ceph's keys in
/// `ceph_namespace`.
pub async fn seed_external_inputs(
    client: &Client,
    namespace: &str,
    ceph_namespace: &str,
) -> Result<()> {
    let random = |n| {
        rockoon_core::credentials::random_string(n)
            .map_err(|e| anyhow::anyhow!("OS random generator: {e}"))
    };
    let (cert, key) = self_signed("*.cloud.example.net")?;
    let referenced: [(&str, Vec<(&str, String)>); 4] = [
        (
            "cloud-public-tls",
            vec![
                ("ca.crt", cert.clone()),
                ("tls.crt", cert.clone()),
                ("tls.key", key.clone()),
            ],
        ),
        // The core sample's names for the same certificate.
        (
            "osh-dev-ssl",
            vec![
                ("ca_cert", cert.clone()),
                ("api_cert", cert),
                ("api_key", key),
            ],
        ),
        ("oidc-client", vec![("secret", random(24)?)]),
        (
            "barbican-vault",
            vec![("role_id", random(16)?), ("secret_id", random(32)?)],
        ),
    ];
    for (name, data) in referenced {
        create_if_missing(client, namespace, name, &[OSDPL_SECRET_LABEL], data).await?;
    }
    let cephx =
        |client: &str| -> Result<String> { Ok(format!("client.{client};AQ{}==", random(38)?)) };
    let ceph = vec![
        ("fsid", "8d6b5c3e-0c1f-4f59-9d1e-3b0b1d2f6a11".to_owned()),
        (
            "mon_endpoints",
            "10.10.0.11:6789,10.10.0.12:6789,10.10.0.13:6789".to_owned(),
        ),
        ("nova", format!("{};vms:ephemeral:hdd", cephx("nova")?)),
        (
            "cinder",
            format!(
                "{};volumes-hdd:volumes:hdd;backup-hdd:backup:hdd",
                cephx("cinder")?
            ),
        ),
        (
            "glance",
            format!("{};images-hdd:images:hdd", cephx("glance")?),
        ),
        ("manila", cephx("manila")?),
        (
            "rgw_internal",
            "http://rook-ceph-rgw-openstack-store.rook-ceph.svc:8080".to_owned(),
        ),
    ];
    create_if_missing(
        client,
        ceph_namespace,
        rockoon_core::ceph::KEYS_SECRET,
        &[],
        ceph,
    )
    .await
}

/// A sample OSDPL from `tests/fixtures/osdpl/<name>.yaml`, moved to `namespace`.
pub fn sample_osdpl(name: &str, namespace: &str) -> Result<Value> {
    let path = workspace_root().join(format!("tests/fixtures/osdpl/{name}.yaml"));
    let mut osdpl: Value = read_yaml(&path)?;
    osdpl["metadata"]["namespace"] = json!(namespace);
    Ok(osdpl)
}

fn read_yaml(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Creates a Secret unless one of that name exists (a rerun keeps earlier values).
async fn create_if_missing(
    client: &Client,
    namespace: &str,
    name: &str,
    labels: &[(&str, &str)],
    data: Vec<(&str, String)>,
) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if api.get_opt(name).await?.is_some() {
        return Ok(());
    }
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let data: BTreeMap<&str, String> = data.into_iter().collect();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": labels},
        "stringData": data,
    });
    api.patch(
        name,
        &PatchParams::apply("rockoon-sample"),
        &Patch::Apply(&secret),
    )
    .await
    .with_context(|| format!("creating Secret {namespace}/{name}"))?;
    Ok(())
}

/// A self-signed certificate and its key, PEM.
fn self_signed(name: &str) -> Result<(String, String)> {
    let key = rcgen::KeyPair::generate()?;
    let params = rcgen::CertificateParams::new(vec![name.to_owned()])?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}
