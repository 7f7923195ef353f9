#!/usr/bin/env bash
# Checks the dev charts (docs/dev-charts.md):
#   1. helm lint --strict of every chart and of the dev-toolkit library;
#   2. helm template of every chart with its own defaults;
#   3. helm template of every release that `rockoon-osdpl render` produces for the sample
#      OSDPLs, with the values it renders, then checks of what comes out: labels, placement,
#      images, replicas, Job settings, conf hashes, no two objects with one name;
#   4. the validation failures (bad pod.replicas, missing or non-string images.tags);
#   5. per-node DaemonSet variants (newer and classic override shapes);
# and prints how long each helm template took.
#
# Environment: HELM (default ~/.cache/rockoon/devcluster/bin/helm), ROCKOON_OSDPL (default
# target/debug/rockoon-osdpl), FIXTURES (default tests/fixtures/osdpl/{core,compute}.yaml).
# Needs python3 with PyYAML. Exit code 0 when everything passes, 1 otherwise, 2 on a setup error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export DEV_CHARTS="$here"
export HELM="${HELM:-$HOME/.cache/rockoon/devcluster/bin/helm}"
export ROCKOON_OSDPL="${ROCKOON_OSDPL:-$repo/target/debug/rockoon-osdpl}"
export FIXTURES="${FIXTURES:-$repo/tests/fixtures/osdpl/core.yaml $repo/tests/fixtures/osdpl/compute.yaml}"

for tool in "$HELM" "$ROCKOON_OSDPL"; do
  if [ ! -x "$tool" ]; then
    echo "check.sh: $tool is missing or not executable (set HELM / ROCKOON_OSDPL)" >&2
    exit 2
  fi
done
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "check.sh: needs python3 with PyYAML" >&2
  exit 2
fi

exec python3 - <<'PY'
import copy, json, os, statistics, subprocess, sys, tempfile, time
import yaml

HELM = os.environ["HELM"]
OSDPL = os.environ["ROCKOON_OSDPL"]
CHARTS = os.environ["DEV_CHARTS"]
FIXTURES = os.environ["FIXTURES"].split()
NAMESPACE = "openstack"

failures = []
timings = {}  # chart -> [ms]
tmp = tempfile.mkdtemp(prefix="dev-charts-check-")


def fail(where, msg):
    failures.append(f"{where}: {msg}")


def helm(args):
    """Runs helm; returns (rc, stdout, stderr without the symlink notice, ms)."""
    start = time.perf_counter()
    p = subprocess.run([HELM] + args, capture_output=True, text=True)
    ms = (time.perf_counter() - start) * 1000
    err = "\n".join(l for l in p.stderr.splitlines() if "found symbolic link in path" not in l)
    return p.returncode, p.stdout, err, ms


def write_values(name, values):
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(values, f)
    return path


def coalesce(base, over):
    """Helm's merge of user values over chart defaults: maps merge, null deletes."""
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = coalesce(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def label_pairs(labels):
    """Every (node_selector_key, node_selector_value) in a labels tree."""
    pairs = set()
    if isinstance(labels, dict):
        if "node_selector_key" in labels:
            pairs.add((str(labels["node_selector_key"]), str(labels.get("node_selector_value"))))
        for v in labels.values():
            pairs |= label_pairs(v)
    return pairs


def pod_of(obj):
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]
    return spec["template"]


# Where the sample OSDPLs place things (the seed's node roles); anything not listed is control plane.
ROLE = [
    (("nova-compute", "libvirt-libvirt", "masakari-instance-monitor", "masakari-host-monitor",
      "masakari-process-monitor"), ("openstack-compute-node", "enabled")),
    (("openvswitch-", "neutron-ovs-agent", "neutron-ovn-metadata-agent", "ovn-controller"), ("openvswitch", "enabled")),
    (("neutron-l3-agent", "neutron-dhcp-agent", "neutron-metadata-agent", "octavia-health-manager",
      "octavia-worker", "octavia-housekeeping"), ("openstack-gateway", "enabled")),
]
# Replica keys of some workloads, to check pod.replicas reaches them.
REPLICAS = {
    "mariadb-server": "server", "memcached-memcached": "server", "keystone-api": "api",
    "placement-api": "api", "glance-api": "api", "nova-api-osapi": "osapi",
    "nova-api-metadata": "api_metadata", "nova-scheduler": "scheduler", "nova-conductor": "conductor",
    "nova-novncproxy": "novncproxy", "neutron-server": "server", "cinder-api": "api",
    "cinder-scheduler": "scheduler", "horizon": "server", "heat-api": "api", "heat-engine": "engine",
    "designate-api": "api", "designate-worker": "worker", "octavia-api": "api", "barbican-api": "api",
    "manila-api": "api", "ovn-ovsdb-nb": "ovn_ovsdb_nb", "ovn-northd": "ovn_northd",
}


def expected_node(name):
    for prefixes, pair in ROLE:
        if name.startswith(prefixes):
            return pair
    return ("openstack-control-plane", "enabled")


def check_objects(where, release, values, objs, placement):
    group = values.get("release_group") or release
    tags = set(str(t) for t in ((values.get("images") or {}).get("tags") or {}).values())
    pairs = label_pairs(values.get("labels"))
    replicas = (values.get("pod") or {}).get("replicas") or {}
    for obj in objs:
        kind, name = obj["kind"], obj["metadata"]["name"]
        at = f"{where} {kind}/{name}"
        labels = obj["metadata"].get("labels") or {}
        for key in ("application", "component"):
            if not labels.get(key):
                fail(at, f"no {key} label")
        if labels.get("release_group") != group:
            fail(at, f"release_group label {labels.get('release_group')!r}, want {group!r}")
        if kind not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            continue
        pod = pod_of(obj)
        plabels = pod["metadata"].get("labels") or {}
        for key in ("application", "component", "release_group"):
            if plabels.get(key) != labels.get(key):
                fail(at, f"pod template label {key} {plabels.get(key)!r} differs from the object's")
        if kind != "Job" and "configmap-etc-hash" not in (pod["metadata"].get("annotations") or {}):
            fail(at, "pod template has no configmap-etc-hash annotation")
        ns = pod["spec"].get("nodeSelector") or {}
        pair = next(iter(ns.items())) if len(ns) == 1 else None
        if pair is None or (str(pair[0]), str(pair[1])) not in pairs:
            fail(at, f"nodeSelector {ns} is not one of the labels.* entries {sorted(pairs)}")
        elif placement and pair != expected_node(name):
            fail(at, f"nodeSelector {ns} but this runs on {expected_node(name)[0]} nodes")
        for c in pod["spec"]["containers"]:
            if c["image"] not in tags:
                fail(at, f"image {c['image']!r} is not an images.tags value")
        if kind in ("Job", "CronJob"):
            job = obj["spec"] if kind == "Job" else obj["spec"]["jobTemplate"]["spec"]
            if pod["spec"].get("restartPolicy") != "Never":
                fail(at, "restartPolicy is not Never")
            if not 0 <= job.get("backoffLimit", 6) <= 3:
                fail(at, f"backoffLimit {job.get('backoffLimit')} is not small")
        if kind in ("Deployment", "StatefulSet"):
            key = REPLICAS.get(name, "server" if name == f"{release}-rabbitmq" else None)
            if key and key in replicas and obj["spec"]["replicas"] != int(replicas[key]):
                fail(at, f"replicas {obj['spec']['replicas']}, pod.replicas.{key} is {replicas[key]}")


def chart_dirs():
    for group in ("infra", "openstack"):
        for chart in sorted(os.listdir(os.path.join(CHARTS, group))):
            path = os.path.join(CHARTS, group, chart)
            if os.path.isfile(os.path.join(path, "Chart.yaml")):
                yield f"{group}/{chart}", path


def defaults(path):
    with open(os.path.join(path, "values.yaml")) as f:
        return yaml.safe_load(f) or {}


def template(key, path, release, values_file=None, extra=(), namespace=NAMESPACE):
    args = ["template", release, path, "--namespace", namespace] + list(extra)
    if values_file:
        args += ["-f", values_file]
    rc, out, err, ms = helm(args)
    timings.setdefault(key, []).append(ms)
    return rc, out, err


charts = dict(chart_dirs())

# 1. lint
for key, path in list(charts.items()) + [("dev-toolkit", os.path.join(CHARTS, "dev-toolkit"))]:
    rc, out, err, _ = helm(["lint", "--strict", path])
    if rc != 0:
        fail(f"lint {key}", (out + err).strip())

# 2. defaults
for key, path in charts.items():
    rc, out, err = template(key, path, "dev-check")
    if rc != 0:
        fail(f"defaults {key}", err.strip())
        continue
    check_objects(f"defaults {key}", "dev-check", defaults(path), [o for o in yaml.safe_load_all(out) if o], False)

# 3. the controller's values for the sample OSDPLs
rendered = {}
for fixture in FIXTURES:
    fname = os.path.basename(fixture)
    p = subprocess.run([OSDPL, "render", "-f", fixture, "-o", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"render {fname}", p.stderr.strip())
        continue
    render = json.loads(p.stdout)
    owners = {}
    count = 0
    for service, status in render["services"]:
        if status.get("state") != "ready":
            print(f"note: {fname}: {service} is {status.get('state')}: {status.get('reason', '')}")
            continue
        for rel in status.get("releases", []):
            key = f"{rel['group']}/{rel['chart']}"
            where = f"{fname} {rel['name']}"
            if key not in charts:
                fail(where, f"no dev chart {key}")
                continue
            vfile = write_values(f"{fname}-{rel['name']}", rel["values"])
            rc, out, err = template(key, charts[key], rel["name"], vfile, namespace=rel["namespace"])
            if rc != 0:
                fail(where, err.strip())
                continue
            objs = [o for o in yaml.safe_load_all(out) if o]
            rendered[(fname, rel["name"])] = objs
            count += 1
            check_objects(where, rel["name"], coalesce(defaults(charts[key]), rel["values"]), objs, True)
            for o in objs:
                ident = (rel["namespace"], o["kind"], o["metadata"]["name"])
                if ident in owners:
                    fail(where, f"{o['kind']}/{o['metadata']['name']} is also rendered by {owners[ident]}")
                owners[ident] = rel["name"]
    print(f"{fname}: {count} releases rendered, {len(owners)} objects")

# 4. validation failures (and one thing that must not fail)
CASES = [
    ("openstack/keystone", {}, ["--set-string", "pod.replicas.api=many"],
     "pod.replicas.api must be an integer, got string"),
    ("infra/mariadb", {"pod": {"replicas": {"server": 1.5}}}, [],
     "pod.replicas.server must be an integer, got 1.5"),
    ("openstack/nova", {"pod": {"replicas": {"osapi": True}}}, [],
     "pod.replicas.osapi must be an integer, got bool"),
    ("openstack/neutron", {"pod": {"replicas": {"server": -1}}}, [],
     "pod.replicas.server must be an integer >= 0, got -1"),
    ("openstack/glance", {"pod": {"replicas": "two"}}, [],
     "pod.replicas must be a map of component: integer, got string"),
    ("openstack/keystone", {"images": {"tags": {"keystone_api": None}}}, [],
     "images.tags.keystone_api is missing (the image of keystone-api)"),
    ("openstack/nova", {"images": {"tags": {"nova_compute": {"repo": "x"}}}}, [],
     "images.tags.nova_compute must be a string, got map"),
    ("infra/rabbitmq", {"images": {"tags": {"rabbitmq": 3}}}, [],
     "images.tags.rabbitmq must be a string, got number"),
    ("openstack/keystone", {"images": {"tags": {"keystone_api": None}}, "manifests": {"deployment_api": False},
                            "unknown": {"keys": "ignored"}}, [], None),
]
for i, (key, values, extra, want) in enumerate(CASES):
    rc, out, err = template(key, charts[key], "dev-check", write_values(f"case{i}", values), extra)
    where = f"validation {key} {json.dumps(values)} {' '.join(extra)}"
    if want is None:
        if rc != 0:
            fail(where, f"should render, failed: {err.strip()}")
    elif rc == 0:
        fail(where, f"rendered; want the error {want!r}")
    elif want not in err:
        fail(where, f"error {err.strip()!r} does not say {want!r}")


# 5. per-node DaemonSet variants
def daemonsets(objs):
    out = {}
    for o in objs:
        if o["kind"] == "DaemonSet":
            terms = (((pod_of(o)["spec"].get("affinity") or {}).get("nodeAffinity") or {})
                     .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [{}]
            exprs = [(e["key"], e["operator"], tuple(e["values"])) for e in terms[0].get("matchExpressions", [])]
            out[o["metadata"]["name"]] = (exprs, o)
    return out


def expect_variants(where, objs, base, want):
    """want: {"default": [exprs], "<daemonset_override annotation>": [exprs]}"""
    got = {}
    for name, (exprs, o) in daemonsets(objs).items():
        if not name.startswith(base + "-"):
            continue
        tag = "default" if name == base + "-default" else (o["metadata"].get("annotations") or {}).get("daemonset_override")
        got[tag] = exprs
    if got != want:
        fail(where, f"{base} variants {got}, want {want}")


ovs = rendered.get(("compute.yaml", "openstack-openvswitch"))
if ovs is not None:
    expect_variants("compute.yaml node override", ovs, "openvswitch-vswitchd", {
        "default": [("openstack-compute-node", "NotIn", ("enabled",))],
        "openstack-compute-node::enabled": [("openstack-compute-node", "In", ("enabled",))],
    })
    expect_variants("compute.yaml node override", ovs, "openvswitch-db", {"default": []})

root = {"overrides": {"nova_compute": {"labels": {
    "compute-type::dpdk": {"values": {"conf": {"nova": {"DEFAULT": {"vcpu_pin_set": "0-15"}}}}},
    "kubernetes.io/hostname::cmp-1": {"values": {"images": {"tags": {"nova_compute": "registry.invalid/dev/nova:special"}}}},
}}}}
rc, out, err = template("openstack/nova", charts["openstack/nova"], "dev-check", write_values("root", root))
if rc != 0:
    fail("root override nova", err.strip())
else:
    objs = [o for o in yaml.safe_load_all(out) if o]
    expect_variants("root override nova", objs, "nova-compute", {
        "default": [("compute-type", "NotIn", ("dpdk",)), ("kubernetes.io/hostname", "NotIn", ("cmp-1",))],
        "compute-type::dpdk": [("compute-type", "In", ("dpdk",)), ("kubernetes.io/hostname", "NotIn", ("cmp-1",))],
        "kubernetes.io/hostname::cmp-1": [("kubernetes.io/hostname", "In", ("cmp-1",))],
    })
    images = {n: pod_of(o)["spec"]["containers"][0]["image"] for n, (_, o) in daemonsets(objs).items()}
    if sorted(images.values()).count("registry.invalid/dev/nova:special") != 1:
        fail("root override nova", f"the per-node image override did not reach exactly one DaemonSet: {images}")

classic = {"conf": {"overrides": {"libvirt_libvirt": {
    "labels": [{"label": {"key": "compute-type", "values": ["dpdk", "sriov"]}, "conf": {"libvirt": {"listen_tcp": "0"}}}],
    "hosts": [{"name": "cmp-0", "conf": {"libvirt": {"log_level": 1}}}],
}}}}
rc, out, err = template("infra/libvirt", charts["infra/libvirt"], "dev-check", write_values("classic", classic))
if rc != 0:
    fail("classic override libvirt", err.strip())
else:
    expect_variants("classic override libvirt", [o for o in yaml.safe_load_all(out) if o], "libvirt-libvirt", {
        "default": [("compute-type", "NotIn", ("dpdk", "sriov")), ("kubernetes.io/hostname", "NotIn", ("cmp-0",))],
        "compute-type::dpdk,sriov": [("compute-type", "In", ("dpdk", "sriov")), ("kubernetes.io/hostname", "NotIn", ("cmp-0",))],
        "host::cmp-0": [("kubernetes.io/hostname", "In", ("cmp-0",))],
    })

# timings
print("\nhelm template per chart (ms): runs, median, max")
all_ms = []
for key in sorted(timings):
    ms = timings[key]
    all_ms += ms
    print(f"  {key:22} {len(ms):3} {statistics.median(ms):6.0f} {max(ms):6.0f}")
print(f"  {'all':22} {len(all_ms):3} {statistics.median(all_ms):6.0f} {max(all_ms):6.0f}")

if failures:
    print(f"\n{len(failures)} failure(s):")
    for f in failures:
        print("  - " + f)
    sys.exit(1)
print("\nall dev chart checks passed")
PY
