//! Writes the CRDs generated from the Rust types into a directory (default `deploy/crds`).
//!
//! `make crds` runs this; a unit test in `rockoon-core` fails when the committed files differ.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| "deploy/crds".into());
    std::fs::create_dir_all(&dir)?;
    for (file, crd) in rockoon_core::crd::all_crds() {
        let path = dir.join(file);
        std::fs::write(&path, rockoon_core::crd::crd_yaml(&crd)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
