use super::*;
use crate::render::Templates;

#[test]
fn every_service_has_a_template_and_every_template_a_service() {
    let templates = Templates::embedded();
    for service in ALL {
        let template = format!("services/{}.yaml", service.name);
        assert!(
            templates.has(&template),
            "{} has no {template}",
            service.name
        );
    }
    for name in templates.names_under("services/") {
        if let Some(service) = name
            .strip_prefix("services/")
            .and_then(|n| n.strip_suffix(".yaml"))
        {
            assert!(find(service).is_some(), "template {name} has no descriptor");
        }
    }
}

#[test]
fn every_chart_has_images_for_every_rendered_release() {
    let templates = Templates::embedded();
    let versions: Vec<String> = templates
        .names_under("artifacts/")
        .filter_map(|n| n.strip_prefix("artifacts/"))
        .filter_map(|n| n.split_once('/').map(|(v, _)| v.to_owned()))
        .collect();
    let mut versions = versions;
    versions.dedup();
    assert!(!versions.is_empty());
    for (service, chart) in ALL
        .iter()
        .flat_map(|s| s.charts.iter().map(move |c| (s, c)))
    {
        for version in &versions {
            let file = format!("artifacts/{version}/{}.yaml", chart.name);
            assert!(templates.has(&file), "{}: no {file}", service.name);
        }
    }
}

#[test]
fn names_aliases_and_charts_are_unique() {
    let mut names: Vec<&str> = ALL
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
        .collect();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "a name or alias is declared twice");
    let mut charts: Vec<&str> = ALL.iter().flat_map(|s| s.charts).map(|c| c.name).collect();
    let count = charts.len();
    charts.sort_unstable();
    charts.dedup();
    assert_eq!(charts.len(), count, "a chart belongs to two services");
    for service in ALL {
        assert!(
            ROCKOON_NAMES.contains(&service.name),
            "{} is not a Rockoon name: add it to ROCKOON_NAMES and run `make crds`",
            service.name
        );
    }
}

#[test]
fn infrastructure_comes_first_then_identity_then_the_rest() {
    let stages: Vec<u8> = ALL.iter().map(|s| s.stage).collect();
    assert!(
        stages.is_sorted(),
        "catalog order must follow the stages: {stages:?}"
    );
    assert_eq!(find("identity").map(|s| s.stage), Some(1));
}

#[test]
fn aliases_lead_to_their_service() {
    assert_eq!(canonical_name("app-gateway"), "ingress");
    assert_eq!(canonical_name("identity"), "identity");
    assert_eq!(canonical_name("frobnicator"), "frobnicator");
}

#[test]
fn derived_tables_read_the_descriptors() {
    assert_eq!(chart_group("mariadb"), ChartGroup::Infra);
    assert_eq!(chart_group("libvirt"), ChartGroup::Infra);
    assert_eq!(chart_group("nova"), ChartGroup::Openstack);
    assert_eq!(chart_group("not-a-chart"), ChartGroup::Openstack);
    assert_eq!(project_name("compute"), "nova");
    assert_eq!(project_name("admin"), "os");
    assert_eq!(feature_owner("neutron").map(|s| s.name), Some("networking"));
    assert!(feature_owner("ssl").is_none());
    assert_eq!(public_apis("nova").len(), 4);
    assert!(public_apis("mariadb").is_empty());
}

#[test]
fn presets_list_their_services_in_catalog_order() {
    let core = preset_services(Preset::Core).unwrap();
    let compute = preset_services(Preset::Compute).unwrap();
    assert_eq!(core.first(), Some(&"database"));
    assert!(core.iter().all(|s| compute.contains(s)));
    assert!(compute.contains(&"block-storage") && !core.contains(&"block-storage"));
    assert_eq!(preset_services(Preset::ComputeTf), Some(compute));
}

#[test]
fn the_documented_service_table_lists_every_service() {
    let doc = include_str!("../../../../docs/rendering.md");
    for service in ALL {
        assert!(
            doc.lines()
                .any(|l| l.starts_with(&format!("| {} ", service.name))),
            "docs/rendering.md has no row for {}",
            service.name
        );
    }
}
