//! The web UI of the dev cluster's Prometheus: built once per version by
//! `tests/cluster/prometheus-ui.sh`, served by Prometheus from its working directory, and
//! checked page by page.
//!
//! Sits between `devcluster up --prometheus` / the pod test and [`super::prometheus::start`]:
//! they ask [`build`] for the folder (a build failure leaves Prometheus running with its HTTP
//! API only, and the reason is reported) and start Prometheus in it. The module build of
//! Prometheus serves `/`, `/targets`, `/query` ... from `static/mantine-ui/index.html`
//! relative to its working directory (upstream web/ui/ui.go without `builtinassets`), and the
//! page's scripts from `static/mantine-ui/assets/` under `/assets/`.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use super::components::http_get;

/// Pages of the UI checked by [`check`]: the issue's targets page and the query page.
pub const PAGES: &[&str] = &["/targets", "/query"];

/// Builds the UI when it is not cached yet (about a minute, npm registry needed) and returns
/// the folder Prometheus must run in (it holds `static/mantine-ui/`).
pub fn build() -> Result<PathBuf> {
    let script = super::workspace_root().join("tests/cluster/prometheus-ui.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    // Its progress goes to our stderr (after the fact: the build takes under a minute).
    let log = String::from_utf8_lossy(&output.stderr);
    eprint!("{log}");
    if !output.status.success() {
        // The script's own `step '…': why` line is the reason users need to see.
        let why = log
            .lines()
            .rev()
            .find(|l| l.starts_with("prometheus-ui.sh: "))
            .unwrap_or("no message");
        bail!(
            "step 'build the Prometheus web UI': {} failed ({}): {why}",
            script.display(),
            output.status
        );
    }
    let dir = PathBuf::from(String::from_utf8(output.stdout)?.trim());
    let index = dir.join("static/mantine-ui/index.html");
    if !index.is_file() {
        bail!(
            "step 'build the Prometheus web UI': {} is missing",
            index.display()
        );
    }
    Ok(dir)
}

/// One line for users: where the UI's targets page is, or why there is none (the HTTP API
/// then still answers).
pub fn describe(url: &str, state: &super::state::State) -> String {
    match &state.prometheus_no_ui {
        None => format!("{url}/targets (web UI), {url}/api/v1/targets (HTTP API)"),
        Some(why) => format!("{url}/api/v1/targets (HTTP API only; no web UI: {why})"),
    }
}

/// The app's JavaScript entry point as the page references it (`./assets/index-….js`),
/// turned into the path Prometheus serves it under (`/assets/index-….js`).
pub fn script_path(html: &str) -> Option<String> {
    let start = html.find("<script type=\"module\"")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let src = tag.split("src=\"").nth(1)?.split('"').next()?;
    let path = src.strip_prefix('.').unwrap_or(src);
    (path.starts_with("/assets/") && path.ends_with(".js")).then(|| path.to_owned())
}

/// Checks that every page of [`PAGES`] answers 200 with the app's HTML and that the script it
/// references answers 200 with JavaScript; returns that script's path.
pub async fn check(port: u16) -> Result<String> {
    let mut script = None;
    for page in PAGES {
        let answer = http_get(port, page)
            .await
            .with_context(|| format!("GET {page}"))?;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        if !head.starts_with("HTTP/1.0 200") || !body.contains("<div id=\"root\">") {
            bail!(
                "GET {page}: not the UI's page: {}",
                answer.chars().take(300).collect::<String>()
            );
        }
        let path = script_path(body)
            .with_context(|| format!("GET {page}: the page references no app script"))?;
        script = Some(path);
    }
    let script = script.context("no page checked")?;
    let answer = http_get(port, &script)
        .await
        .with_context(|| format!("GET {script}"))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    // `text/javascript` or `application/javascript`, depending on the host's MIME table.
    let javascript = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("content-type:") && l.contains("javascript")
    });
    // The bundle is about 2 MB; a few bytes would be an error page.
    if !head.starts_with("HTTP/1.0 200") || !javascript || body.len() < 100_000 {
        bail!(
            "GET {script}: not the app's script ({} bytes): {}",
            body.len(),
            head
        );
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_script_of_the_built_index_is_served_under_assets() {
        let html = r#"<title>Prometheus</title>
    <script>const GLOBAL_READY='true';</script>
    <script type="module" crossorigin src="./assets/index-CAfAvjF3.js"></script>
    <link rel="stylesheet" crossorigin href="./assets/index-BS3pxCc7.css">"#;
        assert_eq!(
            script_path(html).as_deref(),
            Some("/assets/index-CAfAvjF3.js")
        );
    }

    #[test]
    fn a_page_without_the_app_script_has_no_script_path() {
        assert_eq!(script_path("Error opening React index.html: open x"), None);
        assert_eq!(
            script_path(r#"<script type="module" src="https://elsewhere/x.js"></script>"#),
            None
        );
    }
}
