//! The five binaries' command lines: valid clap definitions, an env var for every flag, and
//! each binary's own default admin port.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

use rockoon_runtime::settings::BinaryArgs;

fn commands() -> Vec<(&'static str, clap::Command, u16)> {
    vec![
        (
            "rockoon-osdpl",
            rockoon_osdpl::Args::full_command(),
            rockoon_osdpl::Args::DEFAULT_ADMIN_PORT,
        ),
        (
            "rockoon-secrets",
            rockoon_secrets::Args::full_command(),
            rockoon_secrets::Args::DEFAULT_ADMIN_PORT,
        ),
        (
            "rockoon-health",
            rockoon_health::Args::full_command(),
            rockoon_health::Args::DEFAULT_ADMIN_PORT,
        ),
        (
            "rockoon-node",
            rockoon_node::Args::full_command(),
            rockoon_node::Args::DEFAULT_ADMIN_PORT,
        ),
        (
            "rockoon-ceph-exchange",
            rockoon_ceph_exchange::Args::full_command(),
            rockoon_ceph_exchange::Args::DEFAULT_ADMIN_PORT,
        ),
    ]
}

#[test]
fn every_binary_has_a_valid_clap_definition() {
    for (name, command, _) in commands() {
        assert_eq!(command.get_name(), name);
        command.debug_assert();
    }
}

fn assert_env_on_every_flag(name: &str, command: &clap::Command) {
    for arg in command.get_arguments() {
        if matches!(arg.get_id().as_str(), "help" | "version") {
            continue;
        }
        assert!(
            arg.get_env().is_some(),
            "{name} --{} has no env var",
            arg.get_id()
        );
    }
    for sub in command.get_subcommands() {
        assert_env_on_every_flag(&format!("{name} {}", sub.get_name()), sub);
    }
}

#[test]
fn every_flag_of_every_binary_can_be_set_from_an_environment_variable() {
    for (name, command, _) in commands() {
        assert_env_on_every_flag(name, &command);
    }
}

fn render(file: &str) -> (Option<i32>, String) {
    let fixture = rockoon_tests::devcluster::workspace_root()
        .join("tests/fixtures/osdpl")
        .join(file);
    osdpl_cli(&["render", "-f", &fixture.display().to_string()])
}

#[test]
fn render_of_the_samples_succeeds_offline() {
    for sample in ["core.yaml", "compute.yaml", "antelope-rockoon.yaml"] {
        let (code, text) = render(sample);
        assert_eq!(code, Some(0), "{sample}: {text}");
        assert!(
            text.contains("name: openstack-keystone"),
            "{sample}: {text}"
        );
    }
    // A Rockoon object with services this version cannot render: listed, not failed.
    let (_, text) = render("antelope-rockoon.yaml");
    assert!(text.contains("# service: stepler: UNSUPPORTED: "), "{text}");
}

#[test]
fn render_of_a_malformed_osdpl_exits_non_zero_naming_the_path() {
    let cases = [
        ("invalid/unknown-preset.yaml", "spec.preset"),
        (
            "invalid/wrong-type-openstack-version.yaml",
            "spec.openstack_version",
        ),
        ("invalid/missing-size.yaml", "size"),
        ("invalid/unknown-service.yaml", "spec.features.services[1]"),
    ];
    for (file, path) in cases {
        let (code, text) = render(file);
        assert_eq!(code, Some(1), "{file}: {text}");
        assert!(
            text.contains("rockoon-osdpl render:") && text.contains(path),
            "{file}: {text}"
        );
    }
}

#[test]
fn help_lists_each_flag_with_its_environment_variable() {
    for (name, mut command, _) in commands() {
        let help = command.render_long_help().to_string();
        for flag in [
            "--namespace",
            "--admin-addr",
            "--log-level",
            "--log-format",
            "--shutdown-grace-seconds",
        ] {
            assert!(help.contains(flag), "{name} --help lacks {flag}:\n{help}");
        }
        for env in [
            "OSCTL_OS_DEPLOYMENT_NAMESPACE",
            "OSCTL_ADMIN_ADDR",
            "OSCTL_LOG_LEVEL",
            "OSCTL_LOG_FORMAT",
        ] {
            assert!(help.contains(env), "{name} --help lacks {env}:\n{help}");
        }
    }
}

#[test]
fn each_binary_has_its_own_default_admin_port() {
    let mut ports: Vec<u16> = commands().iter().map(|(_, _, port)| *port).collect();
    for (name, mut command, port) in commands() {
        let help = command.render_long_help().to_string();
        assert!(
            help.contains(&format!("0.0.0.0:{port}")),
            "{name} --help does not show its port {port}"
        );
    }
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 5, "two binaries share an admin port");
}

#[test]
fn ceph_exchange_watches_the_ceph_shared_namespace_by_default() {
    let args: rockoon_ceph_exchange::Args =
        rockoon_runtime::settings::parse_from(1, ["rockoon-ceph-exchange"]);
    assert_eq!(args.ceph_shared_namespace, "openstack-ceph-shared");
}

fn osdpl_cli(args: &[&str]) -> (Option<i32>, String) {
    let target = rockoon_tests::suite::current_target_dir().unwrap();
    let binary = rockoon_tests::suite::binary_path(&target, "osdpl");
    let out = std::process::Command::new(binary)
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn render_with_unreadable_or_malformed_inputs_exits_non_zero_naming_the_input() {
    let root = rockoon_tests::devcluster::workspace_root();
    let sample = root
        .join("tests/fixtures/osdpl/core.yaml")
        .display()
        .to_string();
    let dir = std::env::temp_dir().join(format!("rockoon-cli-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("templates/services")).unwrap();
    let broken_credentials = dir.join("credentials.yaml");
    std::fs::write(&broken_credentials, "identity: [unclosed\n").unwrap();
    std::fs::write(
        dir.join("templates/services/identity.yaml"),
        "releases: {{ nope(\n",
    )
    .unwrap();
    let credentials = broken_credentials.display().to_string();
    let templates = dir.join("templates").display().to_string();
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec!["render", "-f", "/nonexistent/osdpl.yaml"],
            "/nonexistent/osdpl.yaml",
        ),
        (
            vec!["render", "-f", &sample, "--credentials", &credentials],
            "credentials.yaml",
        ),
        (
            vec!["render", "-f", &sample, "--templates", &templates],
            "services/identity.yaml",
        ),
    ];
    for (args, named) in cases {
        let (code, text) = osdpl_cli(&args);
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(
            text.contains(named),
            "{args:?} does not name {named}: {text}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The test harness reads `devcluster up`'s first line and keeps its stdin open: a start-up
/// that fails must end the process (and so the pipe), or the whole test run waits forever.
#[test]
fn devcluster_up_exits_non_zero_when_start_up_fails_while_its_stdin_stays_open() {
    let target = rockoon_tests::suite::current_target_dir().unwrap();
    let run_dir = target.join("cli-test-devcluster-fail");
    let empty_bin_dir = target.join("cli-test-empty-bin");
    std::fs::create_dir_all(&empty_bin_dir).unwrap();
    let mut child = std::process::Command::new(target.join("devcluster"))
        .arg("--dir")
        .arg(&run_dir)
        .args(["up", "--exit-on-stdin-eof", "--real-node=off"])
        .env("ROCKOON_DEVCLUSTER_BIN", &empty_bin_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // stdin stays open (the handle is held) for the whole wait.
    let _stdin = child.stdin.take();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("devcluster up still running 60 s after a start-up that cannot succeed");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("step 'find etcd'"), "{stderr}");
    let _ = std::fs::remove_dir_all(&run_dir);
}
