//! Per-node features (`spec.nodes["<label-key>::<label-value>"].features`): a node group's
//! own `features` (nova allocation ratios, CPU model, image backend, live-migration interface,
//! neutron tunnel interface, SR-IOV NICs, cinder LVM group, ...), layered over the cloud-wide
//! ones for the nodes carrying that label. Runs after every service rendered (step 3 of
//! [`super`]) and before the routes.
//!
//! There is one way to say what a feature means, the service templates, so a node group is
//! not translated key by key: the services are rendered a second time with the group's
//! features merged into `spec.features`, and the difference between the two renders, release
//! by release, is what those nodes need. That difference goes where the chart's DaemonSets
//! take per-node values (see [`super::node_overrides`]): the whole difference for a
//! `daemonset_overrides_root` chart (libvirt, ovn), its `conf` part for a `daemonset_overrides`
//! chart (nova, neutron, octavia). Explicit `nodes.<group>.services` values of the same group
//! win over it. What cannot go there (a value outside `conf` of a `conf`-only chart, a release
//! or a chart without per-node DaemonSets, a value the group removes) is reported with its
//! paths, never dropped.

use serde_json::{Map, Value, json};

use super::node_overrides::{Mechanism, conf_slot, daemonsets_of, group_label, unnameable};
use super::{RenderContext, RenderError, ServiceOutcome, Templates, catalog, service};
use crate::values::{fingerprint, merge_into};

/// How many differing value paths a report names before it says "and N more".
const NAMED_PATHS: usize = 6;

/// Layers each node group's features into the releases of `services` (rendered from
/// `merged`); returns what could not be layered, as `path: why`.
pub fn apply(
    services: &mut [(String, ServiceOutcome)],
    merged: &Value,
    images: &Value,
    context: &RenderContext,
    templates: &Templates,
) -> Result<Vec<String>, RenderError> {
    let Some(nodes) = merged.get("nodes").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    // Most node groups carry only `services` values: no copy of the render for them.
    if !nodes
        .values()
        .any(|node| node.get("features").is_some_and(|f| !f.is_null()))
    {
        return Ok(Vec::new());
    }
    // Every group is compared with the cloud-wide render, not with one another group's layers.
    let cloud: Vec<super::Release> = ready_releases(services).cloned().collect();
    let render = GroupRender {
        cloud: &cloud,
        services: services.iter().map(|(name, _)| name.clone()).collect(),
        images,
        context,
        templates,
    };
    let mut unsupported = Vec::new();
    for (group, node) in nodes {
        let Some(features) = node.get("features").filter(|f| !f.is_null()) else {
            continue;
        };
        let here = format!("spec.nodes[{group:?}].features");
        let node_spec = spec_for_group(merged, features, &here)?;
        if node_spec.get("features") == merged.get("features") {
            continue; // the cloud-wide features repeated: nothing differs on these nodes
        }
        let node_releases = render.releases(&node_spec, &here)?;
        for node_release in &node_releases {
            let Some(cloud_release) = cloud.iter().find(|r| r.name == node_release.name) else {
                unsupported.push(format!(
                    "{here}: adds the release {} on these nodes only; a release is \
                     cluster-wide",
                    node_release.name
                ));
                continue;
            };
            let difference = Difference::between(&cloud_release.values, &node_release.values);
            if difference.is_empty() {
                continue;
            }
            let release = ready_releases_mut(services)
                .find(|r| r.name == node_release.name)
                .expect("every cloud-wide release is among the services");
            unsupported.extend(layer(group, &here, release, difference)?);
            release.fingerprint = fingerprint(&release.values);
        }
        unsupported.extend(render.without_effect(merged, features, &node_releases, &here)?);
    }
    Ok(unsupported)
}

/// The services rendered again for one node group.
struct GroupRender<'a> {
    cloud: &'a [super::Release],
    services: Vec<String>,
    images: &'a Value,
    context: &'a RenderContext,
    templates: &'a Templates,
}

impl GroupRender<'_> {
    /// The releases of the cloud-wide ready services, rendered from `spec`.
    fn releases(&self, spec: &Value, here: &str) -> Result<Vec<super::Release>, RenderError> {
        let shared = service::shared_context(spec, self.images, self.context);
        let mut releases = Vec::new();
        for def in catalog::enabled_services(spec)? {
            if !self.services.iter().any(|s| s == def.name) {
                continue;
            }
            match service::render_service(def, spec, &shared, self.context, self.templates)
                .map_err(|error| in_group(error, here))?
            {
                ServiceOutcome::Ready { releases: rendered } => releases.extend(rendered),
                // The group's render waits for the same inputs as the cloud-wide one.
                ServiceOutcome::Waiting { .. } | ServiceOutcome::Unsupported { .. } => {}
            }
        }
        Ok(releases)
    }

    /// Each leaf of the group's features that differs from the cloud-wide value and changes
    /// no release: left out of the group's features, the render is the same. (Left out, not
    /// tried alone: an LVM volume group matters only with the LVM backend beside it.)
    fn without_effect(
        &self,
        merged: &Value,
        features: &Value,
        with_all: &[super::Release],
        here: &str,
    ) -> Result<Vec<String>, RenderError> {
        let mut found = Vec::new();
        let mut leaves = Vec::new();
        collect_leaves(features, &mut Vec::new(), &mut leaves);
        // The cloud-wide values ask nothing of these nodes.
        leaves.retain(|(path, value)| {
            merged.pointer(&format!("/features/{}", path.join("/"))) != Some(value)
        });
        for (path, _) in &leaves {
            let unchanged = if leaves.len() == 1 {
                // Left out, the only differing leaf leaves the cloud-wide render.
                with_all.iter().all(|release| {
                    self.cloud
                        .iter()
                        .any(|r| r.name == release.name && r.values == release.values)
                })
            } else {
                self.same_without(merged, features, path, with_all, here)?
            };
            if unchanged {
                found.push(format!(
                    "{here}.{}: changes nothing any enabled service renders for these nodes",
                    path.join(".")
                ));
            }
        }
        Ok(found)
    }

    /// Whether the group's render is the same with the leaf at `path` left out (a render the
    /// templates refuse without it is not: the leaf takes effect).
    fn same_without(
        &self,
        merged: &Value,
        features: &Value,
        path: &[String],
        with_all: &[super::Release],
        here: &str,
    ) -> Result<bool, RenderError> {
        let mut others = features.clone();
        remove_leaf(&mut others, path);
        let spec = spec_for_group(merged, &others, here)?;
        Ok(self
            .releases(&spec, here)
            .is_ok_and(|releases| releases == with_all))
    }
}

/// Removes the leaf at `path`, and the maps it leaves empty.
fn remove_leaf(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(map) = value.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        map.remove(first);
        return;
    }
    if let Some(child) = map.get_mut(first) {
        remove_leaf(child, rest);
        if child.as_object().is_some_and(Map::is_empty) {
            map.remove(first);
        }
    }
}

/// Every scalar or list under `value`, with its path (an empty map is a leaf too).
fn collect_leaves(value: &Value, path: &mut Vec<String>, leaves: &mut Vec<(Vec<String>, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(key.clone());
                collect_leaves(child, path, leaves);
                path.pop();
            }
        }
        _ => leaves.push((path.clone(), value.clone())),
    }
}

fn ready_releases(services: &[(String, ServiceOutcome)]) -> impl Iterator<Item = &super::Release> {
    services.iter().flat_map(|(_, outcome)| match outcome {
        ServiceOutcome::Ready { releases } => releases.as_slice(),
        _ => &[],
    })
}

fn ready_releases_mut(
    services: &mut [(String, ServiceOutcome)],
) -> impl Iterator<Item = &mut super::Release> {
    services.iter_mut().flat_map(|(_, outcome)| match outcome {
        ServiceOutcome::Ready { releases } => releases.as_mut_slice(),
        _ => &mut [],
    })
}

/// The merged spec with the group's features layered over `features`.
fn spec_for_group(merged: &Value, features: &Value, here: &str) -> Result<Value, RenderError> {
    if !features.is_object() {
        return Err(RenderError::InvalidSpec {
            path: here.to_owned(),
            message: "must be a map".into(),
        });
    }
    let mut spec = merged.clone();
    merge_into(&mut spec, &json!({ "features": features }), here)?;
    Ok(spec)
}

/// A template's refusal of the group's features names the group, not the cloud-wide path.
fn in_group(error: RenderError, here: &str) -> RenderError {
    RenderError::InvalidSpec {
        path: here.to_owned(),
        message: error.to_string(),
    }
}

/// Writes `difference` into the per-node values of `release`'s DaemonSets; returns what the
/// chart cannot take per node.
fn layer(
    group: &str,
    here: &str,
    release: &mut super::Release,
    difference: Difference,
) -> Result<Vec<String>, RenderError> {
    let (key, label_value) = group_label(group)?;
    let daemonsets = daemonsets_of(&release.chart);
    let mut refused = difference.removed;
    let mut changed = difference.changed;
    let mut unnameable_conf = false;
    match daemonsets.first().map(|(_, mechanism)| *mechanism) {
        Some(Mechanism::AnyValues) => {
            let layer_values = tree(&changed);
            for (root, _) in &daemonsets {
                layer_any_values(&mut release.values, root, group, &layer_values, here)?;
            }
        }
        Some(Mechanism::ConfOnly) => {
            let (conf, outside): (Vec<_>, Vec<_>) =
                changed.drain(..).partition(|(path, _)| path[0] == "conf");
            if !conf.is_empty() {
                let conf_values = tree(&conf);
                for (root, _) in &daemonsets {
                    let Some(slot) = conf_slot(&mut release.values, root, key, label_value, here)?
                    else {
                        unnameable_conf = true;
                        break;
                    };
                    // The group's explicit per-node values, already there, win.
                    let mut combined = conf_values["conf"].clone();
                    merge_into(&mut combined, slot, here)?;
                    *slot = combined;
                }
            }
            refused.extend(outside.into_iter().map(|(path, _)| path));
        }
        None => refused.extend(changed.into_iter().map(|(path, _)| path)),
    }
    let mut found = Vec::new();
    if unnameable_conf {
        found.push(unnameable(
            &format!("{here} (release {})", release.name),
            &release.chart,
            key,
        ));
    }
    if refused.is_empty() {
        return Ok(found);
    }
    let why = match daemonsets.first().map(|(_, mechanism)| *mechanism) {
        None => format!(
            "the {} chart has no per-node DaemonSet overrides",
            release.chart
        ),
        Some(Mechanism::ConfOnly) => format!(
            "the {} chart's DaemonSets take only `conf` per node",
            release.chart
        ),
        Some(Mechanism::AnyValues) => {
            "a per-node override can add or change values, not remove them".into()
        }
    };
    found.push(format!(
        "{here}: the release {} would need values {} to differ on these nodes, and {why}",
        release.name,
        name_paths(&refused)
    ));
    Ok(found)
}

/// `a.b.c, d.e and 3 more`.
fn name_paths(paths: &[Vec<String>]) -> String {
    let mut named: Vec<String> = paths
        .iter()
        .take(NAMED_PATHS)
        .map(|p| p.join("."))
        .collect();
    if paths.len() > NAMED_PATHS {
        named.push(format!("and {} more", paths.len() - NAMED_PATHS));
    }
    named.join(", ")
}

/// `values.overrides.<root>.labels["<group>"].values`, under what the group's explicit
/// per-node values already set there.
fn layer_any_values(
    values: &mut Value,
    root: &str,
    group: &str,
    layer_values: &Value,
    here: &str,
) -> Result<(), RenderError> {
    let labels = super::overrides::child_map(values, &["overrides", root, "labels"], here)?;
    let slot = labels
        .entry(group.to_owned())
        .or_insert_with(|| json!({"values": {}}));
    let mut combined = layer_values.clone();
    if let Some(explicit) = slot.get("values") {
        merge_into(&mut combined, explicit, here)?;
    }
    slot["values"] = combined;
    Ok(())
}

/// What a group's render changes in one release's values: leaves (a scalar, a list, or a
/// map that is new) that differ, and paths the group's render no longer has.
#[derive(Debug, Default, PartialEq)]
struct Difference {
    changed: Vec<(Vec<String>, Value)>,
    removed: Vec<Vec<String>>,
}

impl Difference {
    fn between(cloud: &Value, node: &Value) -> Self {
        let mut difference = Self::default();
        difference.walk(cloud, node, &mut Vec::new());
        difference
    }

    fn walk(&mut self, cloud: &Value, node: &Value, path: &mut Vec<String>) {
        match (cloud, node) {
            (Value::Object(cloud), Value::Object(node)) => {
                for (key, node_value) in node {
                    path.push(key.clone());
                    match cloud.get(key) {
                        Some(cloud_value) => self.walk(cloud_value, node_value, path),
                        None => self.changed.push((path.clone(), node_value.clone())),
                    }
                    path.pop();
                }
                for key in cloud.keys().filter(|k| !node.contains_key(*k)) {
                    let mut removed = path.clone();
                    removed.push(key.clone());
                    self.removed.push(removed);
                }
            }
            (cloud, node) if cloud != node => self.changed.push((path.clone(), node.clone())),
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

/// The values tree holding `leaves`.
fn tree(leaves: &[(Vec<String>, Value)]) -> Value {
    let mut root = Map::new();
    for (path, value) in leaves {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let mut at = &mut root;
        for key in parents {
            at = match at
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()))
            {
                Value::Object(map) => map,
                _ => unreachable!("a difference leaf never has another leaf below it"),
            };
        }
        at.insert(last.clone(), value.clone());
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn a_difference_names_changed_and_new_leaves_and_removed_keys() {
        let cloud = json!({"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 8.0}, "x": 1}}, "keep": [1]});
        let node = json!({"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 2.0, "ram_allocation_ratio": 1.0}}}, "keep": [1]});
        let difference = Difference::between(&cloud, &node);
        assert_eq!(
            difference.changed,
            vec![
                (path("conf.nova.DEFAULT.cpu_allocation_ratio"), json!(2.0)),
                (path("conf.nova.DEFAULT.ram_allocation_ratio"), json!(1.0)),
            ]
        );
        assert_eq!(difference.removed, vec![path("conf.nova.x")]);
    }

    #[test]
    fn identical_values_make_no_difference() {
        let values = json!({"a": {"b": [1, 2]}, "c": null});
        assert!(Difference::between(&values, &values).is_empty());
    }

    #[test]
    fn leaves_build_back_into_one_tree() {
        let leaves = vec![
            (path("conf.a.b"), json!(1)),
            (path("conf.a.c"), json!("x")),
            (path("conf.d"), json!([1])),
        ];
        assert_eq!(
            tree(&leaves),
            json!({"conf": {"a": {"b": 1, "c": "x"}, "d": [1]}})
        );
    }

    #[test]
    fn paths_beyond_the_named_few_are_counted() {
        let paths: Vec<Vec<String>> = (0..8).map(|i| path(&format!("a.b{i}"))).collect();
        assert_eq!(
            name_paths(&paths),
            "a.b0, a.b1, a.b2, a.b3, a.b4, a.b5, and 2 more"
        );
    }
}
