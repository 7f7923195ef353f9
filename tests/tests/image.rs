//! The image `make image` builds here (tests/cluster/image.sh, no base image, no registry)
//! against the Dockerfile, which stays for machines with a registry: both declare the same
//! user, environment, working folder, command and binary paths; the archive's layer holds
//! the binaries, helm, the CA bundle and the suite's user; and the binaries of the unpacked
//! image run in a chroot as that user, so every shared library they need is inside.
//!
//! Built from the binaries of this cargo output folder (debug in `make test`; `make image`
//! uses the release ones, the layout is the same).

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

const BINARIES: [&str; 5] = [
    "rockoon-osdpl",
    "rockoon-secrets",
    "rockoon-health",
    "rockoon-node",
    "rockoon-ceph-exchange",
];

fn in_ci() -> bool {
    rockoon_tests::harness::in_ci()
}

/// The built image: its folder (rootfs/, rockoon.oci.tar), config and layer file list.
struct Image {
    rootfs: PathBuf,
    archive: PathBuf,
    config: Value,
    files: BTreeSet<String>,
}

fn image() -> Option<&'static Image> {
    static IMAGE: OnceLock<Option<Image>> = OnceLock::new();
    IMAGE.get_or_init(build).as_ref()
}

fn build() -> Option<Image> {
    let root = rockoon_tests::devcluster::workspace_root();
    let target = rockoon_tests::suite::current_target_dir().unwrap();
    let helm = Command::new(root.join("tests/cluster/build.sh"))
        .arg("--print")
        .output()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("helm"))
        .unwrap();
    if !helm.is_file() {
        let problem = format!("the pinned helm {} is not built", helm.display());
        assert!(!in_ci(), "{problem}; CI runs tests/cluster/build.sh first");
        eprintln!("note: image tests skipped: {problem} (tests/cluster/build.sh)");
        return None;
    }
    let out = target.join("test-image");
    let status = Command::new(root.join("tests/cluster/image.sh"))
        .arg(&target)
        .arg(&out)
        .arg("localhost/rockoon:test")
        .status()
        .unwrap();
    assert!(status.success(), "tests/cluster/image.sh failed: {status}");
    let archive = out.join("rockoon.oci.tar");
    let layout = out.join("layout");
    let _ = std::fs::remove_dir_all(&layout);
    std::fs::create_dir_all(&layout).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&layout));
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap())
    };
    let json = |path: PathBuf| -> Value {
        serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    };
    let index = json(layout.join("index.json"));
    let manifest = json(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let config = json(blob(manifest["config"]["digest"].as_str().unwrap()));
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "one layer: {manifest}");
    let listing = run(Command::new("tar")
        .arg("-tvf")
        .arg(blob(layers[0]["digest"].as_str().unwrap())));
    let files = listing
        .lines()
        .map(|line| {
            // `-rwxr-xr-x 0/0 123 1970-01-01 00:00 ./usr/local/bin/helm`: mode and path.
            let fields: Vec<&str> = line.split_whitespace().collect();
            format!("{} {}", fields[0], fields[fields.len() - 1])
        })
        .collect();
    let size = std::fs::metadata(&archive).unwrap().len();
    eprintln!(
        "image archive {}: {:.1} MiB (debug binaries)",
        archive.display(),
        size as f64 / 1024.0 / 1024.0
    );
    Some(Image {
        rootfs: out.join("rootfs"),
        archive,
        config,
        files,
    })
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the Dockerfile's final stage declares.
#[derive(Debug, Default)]
struct Declared {
    user: String,
    env: BTreeMap<String, String>,
    workdir: String,
    cmd: Vec<String>,
    /// Paths of the binaries in the image.
    binaries: BTreeSet<String>,
}

fn dockerfile() -> Declared {
    let root = rockoon_tests::devcluster::workspace_root();
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    // Continuation lines joined, comments dropped: one instruction per line.
    let joined = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let built: Vec<String> = joined
        .split_once("for bin in ")
        .and_then(|(_, rest)| rest.split_once("; do"))
        .map(|(list, _)| list.split_whitespace().map(str::to_owned).collect())
        .expect("the rust stage names its binaries in `for bin in ...; do`");
    let final_stage = joined.rsplit_once("\nFROM ").unwrap().1;
    let mut declared = Declared::default();
    for line in final_stage.lines().map(str::trim) {
        let (instruction, rest) = line.split_once(' ').unwrap_or((line, ""));
        match instruction {
            "USER" => declared.user = rest.trim().to_owned(),
            "WORKDIR" => declared.workdir = rest.trim().to_owned(),
            "ENV" => {
                for pair in rest.split_whitespace() {
                    let (k, v) = pair.split_once('=').unwrap();
                    declared.env.insert(k.to_owned(), v.to_owned());
                }
            }
            "CMD" => declared.cmd = serde_json::from_str(rest).unwrap(),
            "COPY" => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                let (source, dest) = (parts[parts.len() - 2], parts[parts.len() - 1]);
                if source == "/out/" {
                    for bin in &built {
                        declared.binaries.insert(format!("{dest}{bin}"));
                    }
                } else {
                    declared.binaries.insert(dest.to_owned());
                }
            }
            _ => {}
        }
    }
    declared
}

#[test]
fn the_dockerfile_declares_the_five_binaries_helm_and_the_suite_user() {
    // The parser itself, so the comparisons below cannot pass on an empty parse.
    let declared = dockerfile();
    assert_eq!(declared.user, "42424:42424");
    assert_eq!(declared.workdir, "/tmp");
    assert_eq!(declared.env.get("HOME").map(String::as_str), Some("/tmp"));
    let mut expected: BTreeSet<String> = BINARIES
        .iter()
        .map(|b| format!("/usr/local/bin/{b}"))
        .collect();
    expected.insert("/usr/local/bin/helm".into());
    assert_eq!(declared.binaries, expected);
}

#[test]
fn the_built_image_and_the_dockerfile_declare_the_same_user_env_workdir_and_command() {
    let Some(image) = image() else { return };
    let declared = dockerfile();
    let config = &image.config["config"];
    assert_eq!(config["User"], declared.user.as_str());
    assert_eq!(config["WorkingDir"], declared.workdir.as_str());
    assert_eq!(config["Cmd"], serde_json::json!(declared.cmd));
    let env: BTreeMap<&str, &str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str()?.split_once('='))
        .collect();
    for (key, value) in &declared.env {
        assert_eq!(
            env.get(key.as_str()),
            Some(&value.as_str()),
            "ENV {key} of the Dockerfile"
        );
    }
    assert_eq!(image.config["os"], "linux");
}

#[test]
fn the_image_layer_holds_the_binaries_helm_the_ca_bundle_and_the_suite_user() {
    let Some(image) = image() else { return };
    let paths: BTreeMap<&str, &str> = image
        .files
        .iter()
        .map(|f| {
            let (mode, path) = f.split_once(' ').unwrap();
            (path.trim_start_matches('.'), mode)
        })
        .collect();
    for binary in dockerfile().binaries {
        assert_eq!(
            paths.get(binary.as_str()),
            Some(&"-rwxr-xr-x"),
            "{binary} in the layer, executable: {paths:?}"
        );
    }
    assert!(paths.contains_key("/etc/ssl/certs/ca-certificates.crt"));
    assert_eq!(paths.get("/tmp/"), Some(&"drwxrwxrwt"));
    let passwd = std::fs::read_to_string(image.rootfs.join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.split(':').nth(2) == Some("42424") && l.split(':').nth(3) == Some("42424")),
        "{passwd}"
    );
    // Nothing but what the script puts there: the binaries, libraries, /etc and /tmp.
    let strays: Vec<&&str> = paths
        .keys()
        .filter(|p| {
            ![
                "/",
                "/usr/",
                "/etc/",
                "/tmp/",
                "/lib",
                "/usr/lib",
                "/usr/local/",
            ]
            .iter()
            .any(|prefix| p.starts_with(prefix))
        })
        .collect();
    assert!(strays.is_empty(), "unexpected files: {strays:?}");
    assert!(image.archive.is_file());
}

#[test]
fn every_binary_of_the_unpacked_image_runs_in_a_chroot_as_the_suite_user() {
    let Some(image) = image() else { return };
    if run(Command::new("id").arg("-u")).trim() != "0" {
        assert!(!in_ci(), "CI runs as root: chroot needs it");
        eprintln!("note: chroot check skipped: not root");
        return;
    }
    for binary in BINARIES {
        let out = chroot(
            &image.rootfs,
            &[&format!("/usr/local/bin/{binary}"), "--help"],
        );
        assert!(
            out.contains("Usage:"),
            "{binary} --help in the image: {out}"
        );
    }
    let version = chroot(
        &image.rootfs,
        &[
            "/usr/local/bin/helm",
            "version",
            "--template",
            "{{.Version}}",
        ],
    );
    assert!(version.starts_with("v3."), "helm version: {version}");
}

/// Runs a command inside `rootfs` as 42424:42424 with only PATH and HOME=/tmp in the
/// environment; fails the test unless it exits 0.
fn chroot(rootfs: &Path, argv: &[&str]) -> String {
    let out = Command::new("chroot")
        .arg("--userspec=42424:42424")
        .arg(rootfs)
        .args(argv)
        .env_clear()
        // The image's PATH; also how `chroot` itself is found on the host.
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/tmp")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{argv:?} in the image failed: {text}");
    text
}
