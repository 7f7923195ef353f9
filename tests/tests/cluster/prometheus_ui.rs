//! The dev cluster's Prometheus serves its web UI (the targets page issue 18 is checked with)
//! when started in the folder `tests/cluster/prometheus-ui.sh` builds, and only then: the
//! module build has no assets of its own. Needs only the kwok cluster (no real node, no
//! targets): Prometheus discovers this test's empty namespace.

use rockoon_tests::devcluster::{build_components, http_get, prometheus, prometheus_ui};
use rockoon_tests::harness::{TestNamespace, in_ci};

use crate::cluster_or_return;

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_serves_its_targets_page_and_script_only_from_the_built_ui_folder() {
    let cluster = cluster_or_return!();
    let web_ui = match prometheus_ui::build() {
        Ok(dir) => dir,
        Err(error) if in_ci() => panic!("CI=true and no Prometheus web UI: {error:#}"),
        Err(error) => {
            eprintln!("SKIPPED: no Prometheus web UI: {error:#}");
            return;
        }
    };
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "promui").await.unwrap();
    let bin = build_components().unwrap();
    let config = prometheus::Config {
        kubeconfig: cluster.kubeconfig.clone(),
        namespaces: vec![ns.name.clone()],
        scrape_interval_seconds: 5,
    };

    let dir = cluster.dir.join(format!("prometheus-ui-{}", ns.name));
    let mut with_ui = prometheus::start(&bin, &dir, &config, Some(&web_ui))
        .await
        .unwrap();
    let script = prometheus_ui::check(with_ui.port).await.unwrap();
    eprintln!("prometheus_ui: /targets and /query serve the app; {script} answers 200");
    with_ui
        .component
        .stop(std::time::Duration::from_secs(10))
        .await;

    // The same binary in another folder: the API answers, the page does not (what the UI
    // folder changes).
    let dir = cluster.dir.join(format!("prometheus-noui-{}", ns.name));
    let mut without = prometheus::start(&bin, &dir, &config, None).await.unwrap();
    let api = http_get(without.port, "/api/v1/targets").await.unwrap();
    assert!(api.starts_with("HTTP/1.0 200"), "{api}");
    assert!(prometheus_ui::check(without.port).await.is_err());
    without
        .component
        .stop(std::time::Duration::from_secs(10))
        .await;
    ns.delete().await.unwrap();
}
