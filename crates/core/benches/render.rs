//! Render benchmark (`make bench`): the whole sample `compute` OSDPL (warm: the template set
//! remembers image lists, presets and sizes across renders, as in the controller; and cold),
//! and the merged spec alone. Rockoon needs about 50 ms for the merged spec plus 17–69 ms per
//! service.

// In benches a failed unwrap is a broken bench; that is what we want.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use rockoon_core::render::{RenderContext, Templates, render, spec::merged_spec};
use serde_json::Value;

fn compute_spec() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/osdpl/compute.yaml");
    let object: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    object["spec"].clone()
}

fn bench(c: &mut Criterion) {
    let spec = compute_spec();
    let context = RenderContext::dry_run();
    let templates = Templates::embedded();
    let rendered = render(&spec, &context, &templates).unwrap();
    let releases = rendered.releases().count();
    c.bench_function(
        &format!("render compute sample ({releases} releases)"),
        |b| b.iter(|| render(black_box(&spec), &context, &templates).unwrap()),
    );
    c.bench_function("merged spec of the compute sample", |b| {
        b.iter(|| {
            merged_spec(black_box(&spec), &context, &templates)
                .unwrap()
                .0
        })
    });
    c.bench_function("load embedded templates", |b| b.iter(Templates::embedded));
    // Cold: a fresh template set, so nothing is remembered from earlier renders.
    c.bench_function("load templates + first render of the compute sample", |b| {
        b.iter(|| render(black_box(&spec), &context, &Templates::embedded()).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
