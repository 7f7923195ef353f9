//! Conformance of a deployed (or only rendered) OSDPL: what a real kubelet, a real network and
//! a real cloud would trip over, and what kwok's fake pods hide.
//!
//! [`check`] collects, from a namespace of the dev cluster, the helm releases (their manifests
//! and values), the live workloads, Secrets, ConfigMaps, Services, NetworkPolicies, the
//! Namespace and the Nodes into an [`Inventory`]; [`Inventory::check`] then runs every check
//! family and returns a [`Report`] with **all** findings:
//!
//! - [`objects`]: two releases rendering the same object (kind, namespace, name);
//! - [`references`]: a Secret or ConfigMap (or a key of one) that a pod template mounts or reads
//!   through `env`/`envFrom` and that does not exist (`optional: true` respected);
//! - [`credentials`]: a chart-default credential in a Secret or a rendered config file;
//! - [`images`]: an image not from the OSDPL's artifacts;
//! - [`network_policy`]: a Service port that the NetworkPolicies let no pod of the namespace
//!   reach;
//! - [`messaging`]: a RabbitMQ instance no service's `transport_url` points at;
//! - [`hosts`]: a host of the namespace in a rendered config that no Service answers for;
//! - [`ovn`]: an OVN gateway (or ML2/OVS L3 agent) that no node is labelled for.
//!
//! [`Inventory::from_manifests`] builds the same inventory from `helm template` output (no
//! cluster): the checks that need live objects or nodes are then skipped, with a note saying so.
//! [`run`] applies an OSDPL with its own controllers in a namespace and waits for APPLIED, so a
//! test or the `conformance` tool gets the whole sequence from one call.

pub mod credentials;
pub mod hosts;
pub mod images;
pub mod messaging;
pub mod network_policy;
pub mod objects;
pub mod ovn;
pub mod references;
pub mod run;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use serde::Deserialize as _;
use serde_json::Value;

/// Annotation helm sets on every object of a release.
pub const RELEASE_ANNOTATION: &str = "meta.helm.sh/release-name";

/// One finding: what is wrong, where, and which release it comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// A release helm could not template or install (`helm template` failed, or `helm list`
    /// shows it other than deployed).
    ReleaseNotDeployed {
        /// The release.
        release: String,
        /// helm's status or message.
        message: String,
    },
    /// Two (or more) releases render the same object; helm refuses the second install.
    DuplicateObject {
        /// `Kind/namespace/name`.
        object: String,
        /// The releases rendering it (a release twice when it renders it twice).
        releases: Vec<String>,
    },
    /// A pod template mounts or reads a Secret/ConfigMap (or one of its keys) that is missing.
    MissingReference {
        /// `Secret` or `ConfigMap`.
        kind: String,
        /// Its name.
        name: String,
        /// The key, when a key is missing from an object that exists (or is read by key).
        key: Option<String>,
        /// Who needs it: `Kind/name (release R): how`, one entry each.
        users: Vec<String>,
    },
    /// A chart-default credential.
    DefaultCredential {
        /// `Secret/name` or `ConfigMap/name`.
        object: String,
        /// Release of the object, when helm made it.
        release: Option<String>,
        /// Data key, then the line's key or URL where the value sits.
        location: String,
        /// The default value found.
        value: String,
    },
    /// An image not from the OSDPL's artifacts.
    ForeignImage {
        /// `Kind/name` of the pod template.
        workload: String,
        /// Its release.
        release: Option<String>,
        /// Container (or init container) name.
        container: String,
        /// The image.
        image: String,
        /// Why it is not an artifact.
        reason: String,
    },
    /// A Service port no pod of the namespace may reach.
    IngressBlocked {
        /// `Service/name`.
        service: String,
        /// Port name or number.
        port: String,
        /// The pod template behind the Service that is isolated.
        workload: String,
        /// NetworkPolicies selecting those pods with Ingress in their policy types.
        policies: Vec<String>,
    },
    /// A RabbitMQ instance that no `transport_url` of any service config uses.
    UnusedRabbitmq {
        /// `StatefulSet/name`.
        instance: String,
        /// Its release.
        release: Option<String>,
        /// Host names it answers to (its Services).
        hosts: Vec<String>,
    },
    /// A host of the namespace that a rendered config points at and no Service answers for.
    HostWithoutService {
        /// The host as written.
        host: String,
        /// The Service it names.
        service: String,
        /// Where it is written: `Kind/name (release R) data key`.
        users: Vec<String>,
    },
    /// A gateway DaemonSet whose node label no node carries.
    GatewayNowhere {
        /// `DaemonSet/name`.
        daemonset: String,
        /// Its release.
        release: Option<String>,
        /// The node label it places gateways by, `key=value`.
        label: String,
        /// Where the label comes from.
        source: String,
    },
}

fn release_suffix(release: Option<&String>) -> String {
    release.map_or_else(|| " (no release)".to_owned(), |r| format!(" (release {r})"))
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::ReleaseNotDeployed { release, message } => {
                write!(f, "release not deployed: {release}: {message}")
            }
            Finding::DuplicateObject { object, releases } => write!(
                f,
                "duplicate object: {object} is rendered by {} releases: {}",
                releases.len(),
                releases.join(", ")
            ),
            Finding::MissingReference {
                kind,
                name,
                key,
                users,
            } => {
                match key {
                    Some(key) => write!(f, "missing reference: key {key:?} of {kind}/{name}")?,
                    None => write!(f, "missing reference: {kind}/{name} does not exist")?,
                }
                write!(f, "; needed by {}", users.join("; "))
            }
            Finding::DefaultCredential {
                object,
                release,
                location,
                value,
            } => write!(
                f,
                "default credential: {object}{} holds the chart default {value:?} at {location}",
                release_suffix(release.as_ref())
            ),
            Finding::ForeignImage {
                workload,
                release,
                container,
                image,
                reason,
            } => write!(
                f,
                "foreign image: {workload}{} container {container} runs {image}: {reason}",
                release_suffix(release.as_ref())
            ),
            Finding::IngressBlocked {
                service,
                port,
                workload,
                policies,
            } => write!(
                f,
                "ingress blocked: no pod of the namespace may reach {service} port {port} on \
                 the pods of {workload}: {} select them for Ingress and none allows it",
                policies.join(", ")
            ),
            Finding::UnusedRabbitmq {
                instance,
                release,
                hosts,
            } => write!(
                f,
                "unused RabbitMQ: {instance}{} (hosts {}) is in no service's transport_url",
                release_suffix(release.as_ref()),
                hosts.join(", ")
            ),
            Finding::HostWithoutService {
                host,
                service,
                users,
            } => write!(
                f,
                "host without a Service: {host} (Service/{service} does not exist) is named by {}",
                users.join("; ")
            ),
            Finding::GatewayNowhere {
                daemonset,
                release,
                label,
                source,
            } => write!(
                f,
                "gateway placed nowhere: {daemonset}{} picks gateways by node label {label} \
                 ({source}) and no node carries it",
                release_suffix(release.as_ref())
            ),
        }
    }
}

/// Every finding of a run, plus notes on checks that could not run.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// What is wrong, sorted.
    pub findings: Vec<Finding>,
    /// Checks skipped or limited, and why.
    pub notes: Vec<String>,
}

impl Report {
    /// No findings (notes do not count).
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if self.findings.is_empty() {
            return writeln!(f, "conformance: no findings");
        }
        writeln!(f, "conformance: {} findings", self.findings.len())?;
        for (i, finding) in self.findings.iter().enumerate() {
            writeln!(f, "{:>3}. {finding}", i + 1)?;
        }
        Ok(())
    }
}

/// An object with its kind, name and release.
#[derive(Debug, Clone)]
pub struct Object {
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// The helm release that made it, if any.
    pub release: Option<String>,
    /// The whole object.
    pub body: Value,
}

impl Object {
    /// From a JSON object; the release from helm's annotation unless given.
    pub fn new(body: Value, release: Option<String>) -> Self {
        let kind = body["kind"].as_str().unwrap_or_default().to_owned();
        let name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let release = release.or_else(|| {
            body["metadata"]["annotations"][RELEASE_ANNOTATION]
                .as_str()
                .map(str::to_owned)
        });
        Self {
            kind,
            name,
            release,
            body,
        }
    }

    /// `Kind/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> BTreeMap<String, String> {
        string_map(&self.body["metadata"]["labels"])
    }
}

/// A JSON object of strings as a map (other values skipped).
pub fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// One pod template of a workload (or a bare Pod).
#[derive(Debug, Clone)]
pub struct PodTemplate {
    /// `Kind/name` of the workload.
    pub owner: String,
    /// Its release.
    pub release: Option<String>,
    /// The pods' labels.
    pub labels: BTreeMap<String, String>,
    /// The pods' spec.
    pub spec: PodSpec,
}

impl PodTemplate {
    /// `Kind/name (release R)`.
    pub fn describe(&self) -> String {
        format!("{}{}", self.owner, release_suffix(self.release.as_ref()))
    }
}

/// Kinds whose objects carry pod templates.
pub const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// Pod templates of the objects: each workload's template once. Pods, ReplicaSets and Jobs
/// owned by a controller are skipped (their owner's template is there). Unparsable templates
/// are returned as errors naming the object.
pub fn pod_templates(objects: &[Object]) -> (Vec<PodTemplate>, Vec<String>) {
    let mut templates = Vec::new();
    let mut errors = Vec::new();
    for object in objects {
        let template = match object.kind.as_str() {
            "Pod" | "ReplicaSet" | "Job"
                if object.body["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|r| r["controller"] == true)) =>
            {
                continue;
            }
            "Pod" => object.body.clone(),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                object.body["spec"]["template"].clone()
            }
            "CronJob" => object.body["spec"]["jobTemplate"]["spec"]["template"].clone(),
            _ => continue,
        };
        match serde_json::from_value::<PodTemplateSpec>(template) {
            Ok(t) => templates.push(PodTemplate {
                owner: object.id(),
                release: object.release.clone(),
                labels: t
                    .metadata
                    .and_then(|m| m.labels)
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                spec: t.spec.unwrap_or_default(),
            }),
            Err(error) => errors.push(format!("{}: pod template unreadable: {error}", object.id())),
        }
    }
    (templates, errors)
}

/// Whether a label selector (`matchLabels` + `matchExpressions`, as JSON) selects `labels`.
/// An empty selector selects everything.
pub fn selector_matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let match_labels = string_map(&selector["matchLabels"]);
    if match_labels.iter().any(|(k, v)| labels.get(k) != Some(v)) {
        return false;
    }
    selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let key = expression["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = expression["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let value = labels.get(key).map(String::as_str);
            match expression["operator"].as_str().unwrap_or_default() {
                "In" => value.is_some_and(|v| values.contains(&v)),
                "NotIn" => value.is_none_or(|v| !values.contains(&v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// Whether a Service-style selector (a plain map; empty selects nothing) selects `labels`.
pub fn map_selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// What the checks look at.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The namespace.
    pub namespace: String,
    /// Its labels (`kubernetes.io/metadata.name` at least).
    pub namespace_labels: BTreeMap<String, String>,
    /// Each release with the objects it renders (`helm get manifest` or `helm template`).
    pub rendered: Vec<(String, Vec<Value>)>,
    /// The objects that exist: live objects of the namespace, or the rendered ones when there
    /// is no cluster.
    pub objects: Vec<Object>,
    /// Whether `objects` are live (false: taken from the render).
    pub live: bool,
    /// Labels of every node; `None` without a cluster.
    pub nodes: Option<Vec<(String, BTreeMap<String, String>)>>,
    /// Each release's values as given to helm (what Rockoon rendered).
    pub user_values: BTreeMap<String, Value>,
    /// Each release's computed values (chart defaults included), when known.
    pub all_values: BTreeMap<String, Value>,
    /// Registry prefix every image must start with (`spec.artifacts.images_base_url`).
    pub images_prefix: Option<String>,
    /// Releases that did not template or are not deployed, with helm's status or message.
    pub failed_releases: Vec<(String, String)>,
}

impl Inventory {
    /// Every check on this inventory.
    pub fn check(&self) -> Report {
        let mut report = Report::default();
        let (templates, errors) = pod_templates(&self.objects);
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for object in &self.objects {
            *kinds.entry(object.kind.as_str()).or_default() += 1;
        }
        report.notes.push(format!(
            "inventory of {} ({}): {} releases, {} pod templates, objects {}",
            self.namespace,
            if self.live { "live" } else { "rendered" },
            self.rendered.len(),
            templates.len(),
            kinds
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        report.notes.extend(errors);
        report
            .findings
            .extend(self.failed_releases.iter().map(|(release, message)| {
                Finding::ReleaseNotDeployed {
                    release: release.clone(),
                    message: message.clone(),
                }
            }));
        report
            .findings
            .extend(objects::check(&self.rendered, &self.namespace));
        if self.live {
            report
                .findings
                .extend(references::check(&templates, &self.objects));
        } else {
            report.notes.push(
                "references: skipped (no cluster: Secrets made by jobs, Ceph or the operator \
                 cannot be known from a render)"
                    .into(),
            );
        }
        report.findings.extend(credentials::check(&self.objects));
        let allowed = images::artifact_images(&self.user_values);
        if allowed.is_empty() {
            report.notes.push(
                "images: no release values name any image; only the prefix is checked".into(),
            );
        }
        report.findings.extend(images::check(
            &templates,
            self.images_prefix.as_deref(),
            &allowed,
        ));
        report.findings.extend(network_policy::check(
            &templates,
            &self.objects,
            &self.namespace_labels,
        ));
        report
            .findings
            .extend(messaging::check(&templates, &self.objects, &self.namespace));
        report
            .findings
            .extend(hosts::check(&self.objects, &self.namespace));
        match &self.nodes {
            Some(nodes) => {
                report
                    .findings
                    .extend(ovn::check(&self.objects, &self.all_values, nodes))
            }
            None => report
                .notes
                .push("ovn: skipped (no cluster, so no nodes)".into()),
        }
        report.findings.sort();
        report.findings.dedup();
        report
    }

    /// The inventory of a render without a cluster: `rendered` is each release with its
    /// `helm template` output, `values` each release's values.
    pub fn from_manifests(
        namespace: &str,
        rendered: Vec<(String, String)>,
        values: BTreeMap<String, Value>,
        images_prefix: Option<String>,
    ) -> Result<Self> {
        let mut releases = Vec::new();
        let mut objects = Vec::new();
        for (release, text) in rendered {
            let docs = parse_manifest(&text)
                .with_context(|| format!("parsing the manifest of release {release}"))?;
            for doc in &docs {
                objects.push(Object::new(doc.clone(), Some(release.clone())));
            }
            releases.push((release, docs));
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            namespace_labels: BTreeMap::from([(
                "kubernetes.io/metadata.name".to_owned(),
                namespace.to_owned(),
            )]),
            rendered: releases,
            objects,
            live: false,
            nodes: None,
            all_values: values.clone(),
            user_values: values,
            images_prefix,
            failed_releases: Vec::new(),
        })
    }
}

/// The objects of a multi-document YAML manifest (empty documents skipped; `List` kinds
/// flattened).
pub fn parse_manifest(text: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let value = Value::deserialize(doc)?;
        match value {
            Value::Null => {}
            Value::Object(ref m) if m.get("kind").and_then(Value::as_str) == Some("List") => {
                out.extend(
                    m.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            Value::Object(_) => {
                let mut value = value;
                octal_modes(&mut value);
                out.push(value);
            }
            other => bail!("a manifest document is not an object: {other}"),
        }
    }
    Ok(out)
}

/// File modes written the YAML 1.1 way (`defaultMode: 0555`, octal, as the API server reads
/// them) become numbers; a YAML 1.2 parser keeps them as strings.
fn octal_modes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if (key == "defaultMode" || key == "mode")
                    && let Some(s) = v.as_str()
                    && s.len() > 1
                    && s.starts_with('0')
                    && let Ok(n) = i64::from_str_radix(&s[1..], 8)
                {
                    *v = Value::from(n);
                } else {
                    octal_modes(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(octal_modes),
        _ => {}
    }
}

/// Collects the inventory of `namespace` on a cluster and runs every check.
///
/// `helm` is the helm binary (releases are read with `helm list/get`); `images_prefix`, when
/// given, is the registry prefix every image must start with.
pub async fn check(
    client: &kube::Client,
    namespace: &str,
    helm: &Path,
    kubeconfig: &Path,
    images_prefix: Option<&str>,
) -> Result<Report> {
    let inventory = run::collect(client, namespace, helm, kubeconfig, images_prefix).await?;
    Ok(inventory.check())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_selector_with_expressions_selects_only_matching_labels() {
        let selector = json!({
            "matchLabels": {"application": "nova"},
            "matchExpressions": [{"key": "component", "operator": "In", "values": ["api", "metadata"]}]
        });
        assert!(selector_matches(
            &selector,
            &labels(&[("application", "nova"), ("component", "api")])
        ));
        assert!(!selector_matches(
            &selector,
            &labels(&[("application", "nova"), ("component", "compute")])
        ));
        assert!(selector_matches(&json!({}), &labels(&[])));
    }

    #[test]
    fn pods_owned_by_a_controller_are_left_to_their_owner() {
        let objects = vec![
            Object::new(
                json!({"kind": "Pod", "metadata": {"name": "p", "ownerReferences": [{"kind": "ReplicaSet", "controller": true, "name": "x", "uid": "u", "apiVersion": "apps/v1"}]}, "spec": {"containers": []}}),
                None,
            ),
            Object::new(
                json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}}}),
                None,
            ),
        ];
        let (templates, errors) = pod_templates(&objects);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(templates.len(), 1);
        assert_eq!(templates[0].owner, "Deployment/d");
    }

    #[test]
    fn octal_file_modes_of_a_manifest_are_read_as_the_api_server_reads_them() {
        let docs = parse_manifest(
            "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n  volumes:\n  - name: v\n    configMap:\n      name: c\n      defaultMode: 0555\n",
        )
        .unwrap();
        assert_eq!(
            docs[0]["spec"]["volumes"][0]["configMap"]["defaultMode"],
            365
        );
        let objects = vec![Object::new(docs[0].clone(), None)];
        let (templates, errors) = pod_templates(&objects);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(templates.len(), 1);
    }

    #[test]
    fn a_manifest_with_empty_documents_and_comments_parses() {
        let docs = parse_manifest(
            "---\n# Source: x/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\n# only a comment\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 1);
    }
}
