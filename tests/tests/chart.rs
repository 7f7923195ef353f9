//! Renders `deploy/chart/rockoon` with the pinned helm (`helm template`, no cluster needed) and
//! checks what a cluster would receive: one Deployment with the five controllers, their
//! probes, security settings and resources, per-container overrides, least-privilege RBAC
//! (exactly the union the RBAC table of docs/architecture.md documents) and the PodMonitor.
//!
//! helm comes from the dev-cluster bin dir printed by `tests/cluster/build.sh --print`. When it
//! has not been built, the tests print how to build it and pass, except under `CI=true`, where
//! they fail naming the missing step.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// Container names of the suite, in the chart's order.
const CONTAINERS: [&str; 5] = ["osdpl", "secrets", "health", "node", "ceph-exchange"];

/// Namespace the chart is rendered into.
const RELEASE_NAMESPACE: &str = "osh-system";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
        .to_path_buf()
}

/// The pinned helm, or `None` (after a note) when it is not built and this is not CI.
fn helm() -> Option<&'static Path> {
    static HELM: OnceLock<Option<PathBuf>> = OnceLock::new();
    HELM.get_or_init(find_helm).as_deref()
}

fn find_helm() -> Option<PathBuf> {
    let root = workspace_root();
    let script = root.join("tests/cluster/build.sh");
    let problem = match Command::new(&script)
        .arg("--print")
        .current_dir(&root)
        .output()
    {
        Ok(out) if out.status.success() => {
            let bin_dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            let helm = bin_dir.join("helm");
            if helm.is_file() {
                return Some(helm);
            }
            format!("step 'build helm': {} does not exist", helm.display())
        }
        Ok(out) => format!(
            "step 'locate the dev-cluster bin dir': `{} --print` failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(error) => format!(
            "step 'locate the dev-cluster bin dir': cannot run `{} --print`: {error}",
            script.display()
        ),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{problem}; CI must build the pinned dev-cluster tools first with `tests/cluster/build.sh`"
        );
    }
    eprintln!(
        "note: chart tests skipped: {problem}. Build the pinned helm with `tests/cluster/build.sh`."
    );
    None
}

/// `helm template` of the chart with the given `--set` values, one JSON value per document.
fn render(sets: &[&str]) -> Option<Vec<Value>> {
    render_with(&[], sets)
}

/// `helm template` with values files (relative to the workspace root), then `--set` values.
fn render_with(files: &[&str], sets: &[&str]) -> Option<Vec<Value>> {
    let helm = helm()?;
    let root = workspace_root();
    let mut cmd = Command::new(helm);
    cmd.args(["template", "t"])
        .arg(root.join("deploy/chart/rockoon"))
        .args(["--namespace", RELEASE_NAMESPACE]);
    for file in files {
        cmd.arg("-f").arg(root.join(file));
    }
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.output().expect("run helm template");
    assert!(
        out.status.success(),
        "helm template {sets:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("helm prints UTF-8");
    let docs = serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("helm template prints valid YAML"))
        .filter(|doc| !doc.is_null())
        .collect();
    Some(docs)
}

/// The render with default values, shared by the tests.
fn default_render() -> Option<&'static [Value]> {
    static DOCS: OnceLock<Option<Vec<Value>>> = OnceLock::new();
    DOCS.get_or_init(|| render(&[])).as_deref()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn the_deployment(docs: &[Value]) -> &Value {
    let deployments = of_kind(docs, "Deployment");
    assert_eq!(deployments.len(), 1, "expected exactly one Deployment");
    deployments[0]
}

fn containers(docs: &[Value]) -> &[Value] {
    the_deployment(docs)["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers is a list")
}

fn container<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    containers(docs)
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn container_mut<'a>(docs: &'a mut [Value], name: &str) -> &'a mut Value {
    docs.iter_mut()
        .find(|d| d["kind"] == "Deployment")
        .and_then(|d| d["spec"]["template"]["spec"]["containers"].as_array_mut())
        .and_then(|cs| cs.iter_mut().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn env_var<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
}

fn env_var_mut<'a>(container: &'a mut Value, name: &str) -> &'a mut Value {
    container["env"]
        .as_array_mut()
        .and_then(|env| env.iter_mut().find(|e| e["name"] == name))
        .map(|e| &mut e["value"])
        .unwrap_or_else(|| panic!("no env var {name}"))
}

/// The single container port of a container: (name, number).
fn own_port(container: &Value) -> (&str, u64) {
    let ports = container["ports"].as_array().expect("ports is a list");
    assert_eq!(
        ports.len(),
        1,
        "container {} must expose exactly its admin port",
        container["name"]
    );
    let name = ports[0]["name"].as_str().expect("the port is named");
    let number = ports[0]["containerPort"]
        .as_u64()
        .expect("containerPort is a number");
    (name, number)
}

/// Port number a probe targets, resolving a port name against the container's ports.
fn probe_port(container: &Value, probe: &Value) -> u64 {
    match &probe["httpGet"]["port"] {
        Value::Number(n) => n.as_u64().expect("port number"),
        Value::String(name) => container["ports"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name.as_str()))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("probe port {name} is not a port of {}", container["name"])),
        other => panic!(
            "probe of {} has no httpGet port: {other}",
            container["name"]
        ),
    }
}

#[test]
fn chart_renders_one_deployment_with_five_containers_on_distinct_ports() {
    let Some(docs) = default_render() else { return };
    let deployment = the_deployment(docs);
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");

    let names: Vec<&str> = containers(docs)
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, CONTAINERS);

    let ports: BTreeSet<u64> = containers(docs).iter().map(|c| own_port(c).1).collect();
    assert_eq!(ports.len(), 5, "containers share a port: {ports:?}");
    let port_names: BTreeSet<&str> = containers(docs).iter().map(|c| own_port(c).0).collect();
    assert_eq!(
        port_names.len(),
        5,
        "containers share a port name: {port_names:?}"
    );
    assert!(
        port_names.iter().all(|n| n.len() <= 15),
        "port names are at most 15 characters"
    );
}

#[test]
fn two_replicas_elect_a_leader_per_binary_spread_over_nodes_and_keep_one_through_drains() {
    let Some(docs) = default_render() else { return };
    let deployment = the_deployment(docs);
    let rolling = &deployment["spec"]["strategy"]["rollingUpdate"];
    assert_eq!(
        rolling["maxUnavailable"], 0,
        "a rolling update never leaves no pod"
    );
    for c in containers(docs) {
        let name = c["name"].as_str().unwrap_or_default();
        assert_eq!(env_var(c, "OSCTL_LEADER_ELECT"), Some("true"), "{name}");
        let identity = c["env"]
            .as_array()
            .and_then(|env| env.iter().find(|e| e["name"] == "OSCTL_LEADER_IDENTITY"))
            .map(|e| &e["valueFrom"]["fieldRef"]["fieldPath"]);
        assert_eq!(
            identity,
            Some(&Value::from("metadata.name")),
            "{name}: the pod name is the Lease holder"
        );
    }
    let anti = &deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
    let preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .expect("preferred anti-affinity, so one node still runs both replicas");
    assert_eq!(
        preferred[0]["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert!(anti["requiredDuringSchedulingIgnoredDuringExecution"].is_null());
    let budgets = of_kind(docs, "PodDisruptionBudget");
    assert_eq!(budgets.len(), 1);
    assert_eq!(budgets[0]["spec"]["minAvailable"], 1);
    assert_eq!(
        budgets[0]["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn a_single_replica_renders_without_a_disruption_budget_that_would_block_drains() {
    let Some(docs) = render(&["replicas=1"]) else {
        return;
    };
    assert_eq!(the_deployment(&docs)["spec"]["replicas"], 1);
    assert!(of_kind(&docs, "PodDisruptionBudget").is_empty());
}

#[test]
fn every_container_probes_livez_and_readyz_on_its_own_port() {
    let Some(docs) = default_render() else { return };
    for c in containers(docs) {
        let (_, port) = own_port(c);
        let liveness = &c["livenessProbe"];
        let readiness = &c["readinessProbe"];
        assert_eq!(
            liveness["httpGet"]["path"], "/livez",
            "liveness of {}",
            c["name"]
        );
        assert_eq!(
            readiness["httpGet"]["path"], "/readyz",
            "readiness of {}",
            c["name"]
        );
        assert_eq!(
            probe_port(c, liveness),
            port,
            "liveness port of {}",
            c["name"]
        );
        assert_eq!(
            probe_port(c, readiness),
            port,
            "readiness port of {}",
            c["name"]
        );
        let admin_addr = format!("--admin-addr=0.0.0.0:{port}");
        let args = c["args"].as_array().expect("args is a list");
        assert!(
            args.iter().any(|a| *a == admin_addr.as_str()),
            "{} lacks {admin_addr}",
            c["name"]
        );
    }
}

#[test]
fn every_container_runs_non_root_read_only_without_privilege_escalation_or_capabilities() {
    let Some(docs) = default_render() else { return };
    for c in containers(docs) {
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true, "runAsNonRoot of {}", c["name"]);
        assert_eq!(
            sc["readOnlyRootFilesystem"], true,
            "readOnlyRootFilesystem of {}",
            c["name"]
        );
        assert_eq!(
            sc["allowPrivilegeEscalation"], false,
            "allowPrivilegeEscalation of {}",
            c["name"]
        );
        assert_eq!(
            sc["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "capabilities of {}",
            c["name"]
        );
    }
}

#[test]
fn every_container_has_resource_requests_and_limits() {
    let Some(docs) = default_render() else { return };
    for c in containers(docs) {
        for key in ["requests", "limits"] {
            let set = c["resources"][key].as_object();
            assert!(
                set.is_some_and(|m| !m.is_empty()),
                "{} has no resources.{key}",
                c["name"]
            );
        }
    }
}

#[test]
fn setting_the_health_log_level_changes_only_the_health_container() {
    let Some(default) = default_render() else {
        return;
    };
    let Some(mut changed) = render(&["controllers.health.logLevel=debug"]) else {
        return;
    };
    for name in CONTAINERS {
        let expected = if name == "health" { "debug" } else { "info" };
        assert_eq!(
            env_var(container(&changed, name), "OSCTL_LOG_LEVEL"),
            Some(expected),
            "{name}"
        );
    }
    // Undo the one expected change: everything else must be identical.
    *env_var_mut(container_mut(&mut changed, "health"), "OSCTL_LOG_LEVEL") = "info".into();
    assert_eq!(
        changed.as_slice(),
        default,
        "the override changed more than the health log level"
    );
}

#[test]
fn setting_the_osdpl_memory_limit_changes_only_the_osdpl_container() {
    let Some(default) = default_render() else {
        return;
    };
    let Some(mut changed) = render(&["controllers.osdpl.resources.limits.memory=1Gi"]) else {
        return;
    };
    let limit = &mut container_mut(&mut changed, "osdpl")["resources"]["limits"]["memory"];
    assert_eq!(*limit, "1Gi");
    *limit = container(default, "osdpl")["resources"]["limits"]["memory"].clone();
    assert_eq!(
        changed.as_slice(),
        default,
        "the override changed more than the osdpl memory limit"
    );
}

#[test]
fn rbac_rules_use_no_wildcards_and_no_binding_grants_cluster_admin() {
    let Some(docs) = default_render() else { return };
    assert_eq!(
        of_kind(docs, "ClusterRole").len(),
        1,
        "expected exactly one ClusterRole"
    );
    let roles = of_kind(docs, "ClusterRole")
        .into_iter()
        .chain(of_kind(docs, "Role"));
    for role in roles {
        let role_name = &role["metadata"]["name"];
        let rules = role["rules"].as_array().expect("rules is a list");
        assert!(!rules.is_empty(), "{role_name} has no rules");
        for rule in rules {
            for field in ["verbs", "resources", "apiGroups"] {
                let values = rule[field]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                assert!(
                    !values.iter().any(|v| v == "*"),
                    "{role_name} has a wildcard in {field}: {rule}"
                );
            }
        }
    }
    let bindings = of_kind(docs, "ClusterRoleBinding")
        .into_iter()
        .chain(of_kind(docs, "RoleBinding"));
    for binding in bindings {
        assert_ne!(
            binding["roleRef"]["name"], "cluster-admin",
            "{} binds cluster-admin",
            binding["metadata"]["name"]
        );
        for subject in binding["subjects"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            assert_eq!(
                subject["namespace"], RELEASE_NAMESPACE,
                "{} binds a foreign subject",
                binding["metadata"]["name"]
            );
        }
    }
}

/// One granted verb: (Role, API group, resource, verb), Roles named as in the RBAC table of
/// docs/architecture.md (`cluster`, `openstack`, `ceph-shared`, `controller`, `events`), group `core`
/// for `""`.
type Grant = (String, String, String, String);

/// Every grant the RBAC table of docs/architecture.md lists.
fn documented_grants() -> BTreeSet<Grant> {
    let text = std::fs::read_to_string(workspace_root().join("docs/architecture.md")).unwrap();
    let section = text
        .split("\n## RBAC\n")
        .nth(1)
        .expect("docs/architecture.md has an RBAC section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let ticked = |cell: &str| -> Vec<String> {
        cell.split(',')
            .map(|v| v.trim().trim_matches('`').to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut grants = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (role, group) = (ticked(cells[1]).remove(0), ticked(cells[2]).remove(0));
        for resource in ticked(cells[3]) {
            for verb in ticked(cells[4]) {
                grants.insert((role.clone(), group.clone(), resource.clone(), verb));
            }
        }
    }
    grants
}

/// Every grant of the rendered chart.
fn rendered_grants(docs: &[Value]) -> BTreeSet<Grant> {
    let mut grants = BTreeSet::new();
    let roles = of_kind(docs, "ClusterRole")
        .into_iter()
        .chain(of_kind(docs, "Role"));
    for role in roles {
        let name = role["metadata"]["name"].as_str().unwrap();
        let table_name = if role["kind"] == "ClusterRole" {
            "cluster"
        } else {
            ["openstack", "ceph-shared", "controller", "events"]
                .into_iter()
                .find(|suffix| name.ends_with(&format!("-{suffix}")))
                .unwrap_or_else(|| panic!("Role {name} is not in the RBAC table"))
        };
        let list = |rule: &Value, field: &str| -> Vec<String> {
            rule[field]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        for rule in role["rules"].as_array().unwrap() {
            for group in list(rule, "apiGroups") {
                let group = if group.is_empty() {
                    "core".to_owned()
                } else {
                    group
                };
                for resource in list(rule, "resources") {
                    for verb in list(rule, "verbs") {
                        let grant = (table_name.to_owned(), group.clone(), resource.clone(), verb);
                        grants.insert(grant);
                    }
                }
            }
        }
    }
    grants
}

#[test]
fn the_chart_grants_exactly_the_verbs_the_architecture_table_says_the_binaries_use() {
    let Some(docs) = default_render() else { return };
    let documented = documented_grants();
    assert!(
        documented.len() > 50,
        "the RBAC table was not read: {documented:?}"
    );
    let rendered = rendered_grants(docs);
    let undocumented: Vec<_> = rendered.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&rendered).collect();
    assert!(
        undocumented.is_empty(),
        "granted by the chart but used by no binary per docs/architecture.md: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "in the docs' RBAC table but not granted by the chart: {missing:?}"
    );
}

#[test]
fn pod_monitor_scrapes_the_metrics_of_all_five_containers() {
    let Some(docs) = default_render() else { return };
    let monitors = of_kind(docs, "PodMonitor");
    assert_eq!(monitors.len(), 1, "expected exactly one PodMonitor");
    let monitor = monitors[0];
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");

    let endpoints = monitor["spec"]["podMetricsEndpoints"]
        .as_array()
        .expect("endpoints is a list");
    assert_eq!(endpoints.len(), 5);
    assert!(
        endpoints.iter().all(|e| e["path"] == "/metrics"),
        "every endpoint scrapes /metrics"
    );
    let scraped: BTreeSet<&str> = endpoints
        .iter()
        .filter_map(|e| e["port"].as_str())
        .collect();
    let exposed: BTreeSet<&str> = containers(docs).iter().map(|c| own_port(c).0).collect();
    assert_eq!(
        scraped, exposed,
        "the PodMonitor scrapes every container port and only those"
    );

    let pod_labels = &the_deployment(docs)["spec"]["template"]["metadata"]["labels"];
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels");
    for (key, value) in selector {
        assert_eq!(
            &pod_labels[key], value,
            "the PodMonitor selector must match the pod label {key}"
        );
    }
}

fn pod_spec(docs: &[Value]) -> &Value {
    &the_deployment(docs)["spec"]["template"]["spec"]
}

#[test]
fn by_default_the_pod_uses_the_pod_network_and_the_kubernetes_service() {
    let Some(docs) = default_render() else { return };
    assert!(pod_spec(docs).get("hostNetwork").is_none());
    for c in containers(docs) {
        assert_eq!(env_var(c, "KUBERNETES_SERVICE_HOST"), None, "{}", c["name"]);
    }
    assert_eq!(
        the_deployment(docs)["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
}

#[test]
fn the_api_server_override_reaches_every_container() {
    let Some(docs) = render(&[
        "apiServerOverride.host=10.11.0.2",
        "apiServerOverride.port=6443",
    ]) else {
        return;
    };
    for c in containers(docs.as_slice()) {
        assert_eq!(env_var(c, "KUBERNETES_SERVICE_HOST"), Some("10.11.0.2"));
        assert_eq!(env_var(c, "KUBERNETES_SERVICE_PORT"), Some("6443"));
    }
}

#[test]
fn extra_volumes_are_mounted_only_into_the_containers_that_ask() {
    let Some(docs) = render(&[
        "extraVolumes[0].name=charts",
        "extraVolumes[0].hostPath.path=/srv/charts",
        "controllers.osdpl.extraVolumeMounts[0].name=charts",
        "controllers.osdpl.extraVolumeMounts[0].mountPath=/charts",
        "controllers.osdpl.extraVolumeMounts[0].readOnly=true",
    ]) else {
        return;
    };
    let volumes = pod_spec(&docs)["volumes"].as_array().unwrap();
    let charts = volumes.iter().find(|v| v["name"] == "charts").unwrap();
    assert_eq!(charts["hostPath"]["path"], "/srv/charts");
    for c in containers(&docs) {
        let mounts = c["volumeMounts"].as_array().unwrap();
        let has = mounts.iter().any(|m| m["name"] == "charts");
        assert_eq!(has, c["name"] == "osdpl", "charts mount of {}", c["name"]);
        assert!(
            mounts.iter().any(|m| m["mountPath"] == "/tmp"),
            "{} keeps its /tmp",
            c["name"]
        );
    }
}

#[test]
fn a_container_that_stops_answering_is_restarted_within_a_minute() {
    let Some(docs) = default_render() else { return };
    for c in containers(docs) {
        let probe = &c["livenessProbe"];
        let n = |key: &str| {
            probe[key]
                .as_u64()
                .unwrap_or_else(|| panic!("{key} of {}", c["name"]))
        };
        // Worst case: the last good probe just before the freeze, then failureThreshold
        // probes that each time out, then the stop grace.
        let worst = n("periodSeconds") * n("failureThreshold")
            + n("timeoutSeconds")
            + n("terminationGracePeriodSeconds");
        assert!(worst <= 60, "{} restarts after up to {worst} s", c["name"]);
        assert!(n("timeoutSeconds") >= 1 && n("failureThreshold") >= 2);
    }
}

#[test]
fn the_dev_values_run_one_pod_on_the_real_node_on_its_network_with_the_local_image() {
    let Some(docs) = render_with(
        &["deploy/dev/values.yaml"],
        &[
            "apiServerOverride.host=10.11.0.2",
            "apiServerOverride.port=6443",
        ],
    ) else {
        return;
    };
    let deployment = the_deployment(&docs);
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    assert!(of_kind(&docs, "PodDisruptionBudget").is_empty());
    let spec = pod_spec(&docs);
    assert_eq!(spec["hostNetwork"], true);
    assert_eq!(spec["dnsPolicy"], "ClusterFirstWithHostNet");
    assert_eq!(spec["nodeSelector"]["rockoon.dev/real-node"], "true");
    assert_eq!(spec["tolerations"][0]["key"], "rockoon.dev/real-node");
    assert_eq!(spec["tolerations"][0]["effect"], "NoSchedule");
    for c in containers(&docs) {
        assert_eq!(c["image"], "localhost/rockoon:dev");
        assert_eq!(c["imagePullPolicy"], "Never");
    }
    let osdpl = container(&docs, "osdpl");
    assert_eq!(env_var(osdpl, "OSCTL_CHARTS_OPENSTACK"), Some("/charts"));
    assert_eq!(env_var(osdpl, "OSCTL_CHARTS_INFRA"), Some("/charts"));
    let mount = osdpl["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/charts")
        .unwrap();
    assert_eq!(mount["readOnly"], true);
}

#[test]
fn the_dev_clusters_prometheus_finds_the_pods_and_ports_the_chart_renders() {
    let Some(docs) = default_render() else { return };
    let config = rockoon_tests::devcluster::prometheus::config_yaml(
        &rockoon_tests::devcluster::prometheus::Config {
            kubeconfig: PathBuf::from("/k"),
            namespaces: Vec::new(),
            scrape_interval_seconds: 5,
        },
    );
    let config: Value = serde_norway::from_str(&config).unwrap();
    let rules = config["scrape_configs"][0]["relabel_configs"]
        .as_array()
        .unwrap();
    let keep = |source: &str| {
        let rule = rules
            .iter()
            .find(|r| r["action"] == "keep" && r["source_labels"][0] == source)
            .unwrap_or_else(|| panic!("no keep rule on {source}"));
        // Prometheus anchors relabel regexes at both ends.
        format!("^(?:{})$", rule["regex"].as_str().unwrap())
    };
    let label = keep("__meta_kubernetes_pod_label_app_kubernetes_io_part_of");
    let pod_labels = &the_deployment(docs)["spec"]["template"]["metadata"]["labels"];
    let part_of = pod_labels["app.kubernetes.io/part-of"].as_str().unwrap();
    assert!(regex_matches(&label, part_of), "{label} vs {part_of}");
    let port = keep("__meta_kubernetes_pod_container_port_name");
    for c in containers(docs) {
        let (name, _) = own_port(c);
        assert!(regex_matches(&port, name), "{port} vs port {name}");
    }
}

/// The two regexes the discovery uses are a literal and `m-.+`; checked without a regex crate.
fn regex_matches(anchored: &str, text: &str) -> bool {
    let inner = anchored
        .strip_prefix("^(?:")
        .and_then(|r| r.strip_suffix(")$"))
        .unwrap();
    match inner.strip_suffix(".+") {
        Some(prefix) => text.len() > prefix.len() && text.starts_with(prefix),
        None => inner == text,
    }
}
