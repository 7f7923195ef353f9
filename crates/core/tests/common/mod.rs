//! Helpers the settings tests share: a corpus OSDPL's spec, an offline render with dry-run
//! credentials, and one release's values.

// Each test file uses only some of these.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use rockoon_core::render::{RenderContext, RenderError, Rendered, Templates, render};
use serde_json::Value;

/// The `spec` of `tests/fixtures/corpus/<name>`.
pub fn corpus_spec(name: &str) -> Value {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/corpus")
        .join(name);
    let object: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    object["spec"].clone()
}

/// `spec` rendered with the embedded templates and dry-run credentials.
pub fn render_dry(spec: &Value) -> Result<Rendered, RenderError> {
    render(spec, &RenderContext::dry_run(), &Templates::embedded())
}

/// The values of release `name` (panics naming the releases there are when it is missing).
pub fn values(rendered: &Rendered, name: &str) -> Value {
    rendered
        .releases()
        .find(|r| r.name == name)
        .map(|r| r.values.clone())
        .unwrap_or_else(|| {
            let names: Vec<&str> = rendered.releases().map(|r| r.name.as_str()).collect();
            panic!("no release {name} in {names:?}")
        })
}
