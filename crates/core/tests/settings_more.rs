//! More of Rockoon's feature settings the templates implement (issue 17, after
//! `settings.rs`): Horizon's themes and messages of the day. Inputs are the corpus OSDPLs
//! (`tests/fixtures/corpus/`), rendered offline with dry-run credentials; the Python the
//! templates write for Horizon is run by `python3`, as Horizon would load it.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{corpus_spec, render_dry, values};
use serde_json::{Value, json};

/// The Python files the horizon release links into `local_settings.d`.
fn horizon_settings_files(spec: &Value) -> Value {
    let horizon = values(&render_dry(spec).unwrap(), "openstack-horizon");
    horizon["conf"]["horizon"]["local_settings_d"].clone()
}

/// Runs `code` with `python3` in a fresh temporary directory (its `TMPDIR`), then `probe`,
/// returning what `probe` prints. `None` when there is no python3 outside CI.
fn run_python(code: &str, probe: &str) -> Option<(String, PathBuf)> {
    let tmp = std::env::temp_dir().join(format!("settings-more-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let script = format!("{code}\n{probe}\n");
    let output = match Command::new("python3")
        .arg("-c")
        .arg(&script)
        .env("TMPDIR", &tmp)
        .output()
    {
        Ok(output) => output,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("python3 not runnable ({e}): the Python is checked by its text only");
            return None;
        }
        Err(e) => panic!("python3 is needed under CI=true: {e}"),
    };
    assert!(
        output.status.success(),
        "python3 failed on:\n{script}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some((String::from_utf8(output.stdout).unwrap(), tmp))
}

#[test]
fn horizon_offers_the_shipped_themes_with_their_labels_and_the_default_theme() {
    let files = horizon_settings_files(&corpus_spec("33-horizon-themes-motd.yaml"));
    let themes = files["_90_rockoon_themes"].as_str().unwrap();
    // The archived `corporate` theme cannot be fetched by the chart: it is not offered.
    assert!(!themes.contains("corporate"), "{themes}");
    let Some((printed, _)) = run_python(
        themes,
        "import json; print(json.dumps([AVAILABLE_THEMES, DEFAULT_THEME]))",
    ) else {
        assert!(themes.contains("DEFAULT_THEME = \"material\""), "{themes}");
        return;
    };
    let printed: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(
        printed,
        json!([
            [
                ["default", "Default", "themes/default"],
                ["material", "Material (house look)", "themes/material"]
            ],
            "material"
        ])
    );
}

#[test]
fn a_withdrawn_default_theme_makes_the_next_shipped_theme_the_default() {
    let mut spec = corpus_spec("33-horizon-themes-motd.yaml");
    spec["features"]["horizon"] = json!({"themes": [{"name": "default", "enabled": false}]});
    let files = horizon_settings_files(&spec);
    let themes = files["_90_rockoon_themes"].as_str().unwrap();
    assert!(
        themes.contains(r#"AVAILABLE_THEMES = [["material", "Material", "themes/material"]]"#),
        "{themes}"
    );
    assert!(themes.contains(r#"DEFAULT_THEME = "material""#), "{themes}");

    spec["features"]["horizon"]["themes"] = json!([
        {"name": "default", "enabled": false},
        {"name": "material", "enabled": false},
    ]);
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(error.contains("spec.features.horizon.themes"), "{error}");
}

#[test]
fn only_archived_themes_write_no_theme_settings() {
    let mut spec = corpus_spec("33-horizon-themes-motd.yaml");
    spec["features"]["horizon"] = json!({
        "default_theme": "corporate",
        "themes": [{"name": "corporate", "url": "https://artifacts.example.com/c.tgz"}],
    });
    let files = horizon_settings_files(&spec);
    assert!(files.is_null(), "{files}");
}

#[test]
fn messages_of_the_day_become_horizons_message_files_shown_after_login() {
    let files = horizon_settings_files(&corpus_spec("33-horizon-themes-motd.yaml"));
    let motd = files["_91_rockoon_motd"].as_str().unwrap();
    assert!(!motd.contains("Not shown any more"), "{motd}");
    let probe = "import json, os\n\
                 print(json.dumps([MESSAGES_PATH] + [json.load(open(os.path.join(MESSAGES_PATH, f))) \
                 for f in sorted(os.listdir(MESSAGES_PATH))]))";
    let Some((printed, tmp)) = run_python(motd, probe) else {
        assert!(motd.contains("Welcome to the cloud"), "{motd}");
        return;
    };
    let printed: Value = serde_json::from_str(&printed).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(
        printed[0],
        tmp.join("horizon-motd").to_string_lossy().as_ref()
    );
    // Messages in name order; `retired` (afterLogin: false) is left out.
    assert_eq!(
        printed.as_array().unwrap()[1..],
        [
            json!({"level": "warning",
                   "message": "Maintenance on Saturday: \"read-only\" APIs from 02:00"}),
            json!({"level": "info", "message": "Welcome to the cloud"}),
        ]
    );
}

#[test]
fn a_message_of_the_day_with_an_unknown_level_or_no_text_is_refused_naming_it() {
    let mut spec = corpus_spec("33-horizon-themes-motd.yaml");
    spec["features"]["horizon"]["motd"]["welcome"]["level"] = json!("critical");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.horizon.motd.welcome.level"),
        "{error}"
    );

    let mut spec = corpus_spec("33-horizon-themes-motd.yaml");
    spec["features"]["horizon"]["motd"]["welcome"] = json!({"level": "info"});
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.horizon.motd.welcome.message"),
        "{error}"
    );
}

/// Issue 17's complaint, for the settings implemented here: removing one changes the render.
#[test]
fn removing_any_horizon_look_setting_changes_what_is_rendered() {
    let spec = corpus_spec("33-horizon-themes-motd.yaml");
    let fingerprint = |spec: &Value| -> String {
        render_dry(spec)
            .unwrap()
            .releases()
            .find(|r| r.name == "openstack-horizon")
            .unwrap()
            .fingerprint
            .clone()
    };
    let with = fingerprint(&spec);
    for key in ["default_theme", "themes", "motd"] {
        let mut without = spec.clone();
        without["features"]["horizon"]
            .as_object_mut()
            .unwrap()
            .remove(key)
            .unwrap();
        assert_ne!(
            with,
            fingerprint(&without),
            "removing features.horizon.{key} changes nothing rendered"
        );
    }
}

#[test]
fn share_backend_groups_merge_into_manila_conf_with_every_enabled_backend_listed() {
    let rendered = render_dry(&corpus_spec("37-manila-share-backends.yaml")).unwrap();
    let manila = values(&rendered, "openstack-manila");
    let conf = &manila["conf"]["manila"];
    // Groups in name order (appliance, cephfs); `retired` is disabled; the chart's generic
    // backend is no longer listed.
    assert_eq!(
        conf["DEFAULT"]["enabled_share_backends"],
        "nfs-a,nfs-b,cephfs-native"
    );
    assert_eq!(conf["nfs-a"]["lvm_share_export_ips"], "192.0.2.10");
    assert_eq!(conf["nfs-b"]["share_backend_name"], "NFS_B");
    assert_eq!(
        conf["cephfs-native"]["share_driver"],
        "manila.share.drivers.cephfs.driver.CephFSDriver"
    );
    // The CephFS driver's own default: no share servers.
    assert_eq!(conf["cephfs-native"]["driver_handles_share_servers"], false);
    assert!(conf.get("old").is_none(), "{conf}");
    // Only the cephfs group asks for share types (appliance says create_share_type: false).
    let script = manila["bootstrap"]["script"].as_str().unwrap();
    assert_eq!(
        script,
        "openstack share type show 'CEPHFS' || \\\n  \
         openstack share type create 'CEPHFS' false \\\n  \
         --extra-specs 'share_backend_name=CEPHFS'"
    );
}

#[test]
fn without_share_backends_manila_keeps_the_charts_generic_backend() {
    let rendered = render_dry(&corpus_spec("28-instance-ha-and-manila.yaml")).unwrap();
    let manila = values(&rendered, "openstack-manila");
    assert!(
        manila["conf"]["manila"]["DEFAULT"].is_null(),
        "{}",
        manila["conf"]
    );
    assert!(manila["bootstrap"].is_null(), "{}", manila["bootstrap"]);
}

#[test]
fn a_share_backend_listed_without_its_section_or_driver_is_refused_naming_it() {
    let mut spec = corpus_spec("37-manila-share-backends.yaml");
    let group = &mut spec["features"]["manila"]["share"]["backends"]["appliance"];
    group["values"]["conf"]["manila"]["DEFAULT"]["enabled_share_backends"] = json!("nfs-a,nfs-c");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.manila.share.backends.appliance.values.conf.manila.nfs-c"),
        "{error}"
    );

    let mut spec = corpus_spec("37-manila-share-backends.yaml");
    let group = &mut spec["features"]["manila"]["share"]["backends"]["cephfs"];
    group["values"]["conf"]["manila"]["DEFAULT"] = json!({});
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains(
            "spec.features.manila.share.backends.cephfs.values.conf.manila.DEFAULT.enabled_share_backends"
        ),
        "{error}"
    );

    let mut spec = corpus_spec("37-manila-share-backends.yaml");
    let group = &mut spec["features"]["manila"]["share"]["backends"]["appliance"];
    group["values"]["conf"]["manila"]["nfs-b"]["driver_handles_share_servers"] = json!("maybe");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("appliance.values.conf.manila.nfs-b.driver_handles_share_servers"),
        "{error}"
    );
}

#[test]
fn a_share_type_name_stays_one_shell_word() {
    let mut spec = corpus_spec("37-manila-share-backends.yaml");
    let section = &mut spec["features"]["manila"]["share"]["backends"]["cephfs"]["values"]["conf"]
        ["manila"]["cephfs-native"];
    section["share_backend_name"] = json!("x'; rm -rf / #");
    let rendered = render_dry(&spec).unwrap();
    let script = values(&rendered, "openstack-manila")["bootstrap"]["script"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(script.contains(r"'x'\''; rm -rf / #'"), "{script}");
}

#[test]
fn removing_the_share_backends_changes_what_is_rendered() {
    let spec = corpus_spec("37-manila-share-backends.yaml");
    let mut without = spec.clone();
    without["features"]["manila"]
        .as_object_mut()
        .unwrap()
        .remove("share")
        .unwrap();
    let fingerprint = |spec: &Value| -> String {
        render_dry(spec)
            .unwrap()
            .releases()
            .find(|r| r.name == "openstack-manila")
            .unwrap()
            .fingerprint
            .clone()
    };
    assert_ne!(fingerprint(&spec), fingerprint(&without));
}

#[test]
fn cinder_backs_up_to_the_s3_bucket_given_and_an_nfs_share_by_its_driver() {
    let spec = corpus_spec("38-storage-backup-drivers-and-stores.yaml");
    let cinder = values(&render_dry(&spec).unwrap(), "openstack-cinder");
    let default = &cinder["conf"]["cinder"]["DEFAULT"];
    assert_eq!(
        default["backup_driver"],
        "cinder.backup.drivers.s3.S3BackupDriver"
    );
    assert_eq!(
        default["backup_s3_endpoint_url"],
        "https://s3.storage.example.org/"
    );
    assert_eq!(default["backup_s3_store_bucket"], "volume-backups");
    assert_eq!(default["backup_s3_store_access_key"], "AKEXAMPLE0001");
    assert!(default.get("backup_ceph_pool").is_none(), "{default}");
    let mut nfs = spec.clone();
    nfs["features"]["cinder"]["backup"]["drivers"] = json!({"share": {
        "type": "nfs", "enabled": true, "backup_share": "10.0.0.9:/backups"}});
    let cinder = values(&render_dry(&nfs).unwrap(), "openstack-cinder");
    let default = &cinder["conf"]["cinder"]["DEFAULT"];
    assert_eq!(
        default["backup_driver"],
        "cinder.backup.drivers.nfs.NFSBackupDriver"
    );
    assert_eq!(default["backup_share"], "10.0.0.9:/backups");
}

#[test]
fn a_non_rbd_volume_backend_and_the_glance_cinder_store_are_reported_and_the_rest_renders() {
    let spec = corpus_spec("38-storage-backup-drivers-and-stores.yaml");
    let rendered = render_dry(&spec).unwrap();
    let cinder = values(&rendered, "openstack-cinder");
    assert_eq!(
        cinder["conf"]["cinder"]["DEFAULT"]["enabled_backends"],
        "gold"
    );
    assert!(cinder["conf"]["backends"].get("array").is_none());
    let reported: Vec<&str> = rendered
        .unsupported
        .iter()
        .map(|u| u.split(": ").next().unwrap())
        .collect();
    for path in [
        "spec.features.cinder.volume.backends.array",
        "spec.features.glance.backends.cinder",
        "spec.features.database.cleanup.cinder.batch",
        "spec.features.database.cleanup.heat.batch",
    ] {
        assert!(reported.contains(&path), "{path} not in {reported:?}");
    }
    // nova's cleanup is off: its age asks for nothing.
    assert!(
        !reported.iter().any(|p| p.contains("cleanup.nova")),
        "{reported:?}"
    );
    let glance = values(&rendered, "openstack-glance");
    assert_eq!(glance["storage"], "pvc");
    assert_eq!(
        glance["volume"],
        json!({"class_name": "fast-local", "size": "40Gi"})
    );
}

#[test]
fn manila_and_aodh_purge_their_old_rows_on_the_schedule_and_age_given() {
    let rendered = render_dry(&corpus_spec("38-storage-backup-drivers-and-stores.yaml")).unwrap();
    let manila = values(&rendered, "openstack-manila");
    assert_eq!(manila["manifests"]["cron_db_purge"], true);
    assert_eq!(manila["jobs"]["db_purge"]["cron"], "15 3 * * *");
    assert_eq!(manila["conf"]["manila"]["db_purge"]["before"], 21);
    let aodh = values(&rendered, "openstack-aodh");
    assert_eq!(aodh["manifests"]["cron_job_alarms_cleaner"], true);
    assert_eq!(aodh["jobs"]["alarms_cleaner"]["cron"], "45 3 * * *");
    assert_eq!(
        aodh["conf"]["aodh"]["database"]["alarm_history_time_to_live"],
        10 * 86400
    );
    assert!(
        rendered
            .unsupported
            .iter()
            .any(|u| u.starts_with("spec.features.database.cleanup.aodh.batch: ")),
        "{:?}",
        rendered.unsupported
    );
}

#[test]
fn mariadb_keeps_its_data_on_local_volumes_on_distinct_nodes_unless_switched_off() {
    let off = corpus_spec("38-storage-backup-drivers-and-stores.yaml");
    let mariadb = values(&render_dry(&off).unwrap(), "openstack-mariadb");
    assert_eq!(mariadb["volume"]["class_name"], "standard-rwo");
    assert!(
        mariadb["pod"].get("affinity").is_none(),
        "{}",
        mariadb["pod"]
    );
    let mut on = off.clone();
    on["local_volume_storage_class"] = json!("node-disks");
    on["features"]["database"]["local_volumes"] = json!({"enabled": true});
    let mariadb = values(&render_dry(&on).unwrap(), "openstack-mariadb");
    assert_eq!(mariadb["volume"]["class_name"], "node-disks");
    assert_eq!(
        mariadb["pod"]["affinity"]["anti"]["type"]["default"],
        "requiredDuringSchedulingIgnoredDuringExecution"
    );
}

#[test]
fn masakari_logs_at_the_level_given_through_oslo_log_default_levels() {
    let rendered = render_dry(&corpus_spec("28-instance-ha-and-manila.yaml")).unwrap();
    let masakari = values(&rendered, "openstack-masakari");
    for (file, logger) in [
        ("masakari", "masakari"),
        ("masakarimonitors", "masakarimonitors"),
    ] {
        let levels = masakari["conf"][file]["DEFAULT"]["default_log_levels"]
            .as_str()
            .unwrap();
        assert!(
            levels.starts_with(&format!("{logger}=WARNING,")),
            "{levels}"
        );
        // oslo.log's own defaults stay, as the option replaces its list.
        assert!(levels.contains("amqp=WARN,"), "{levels}");
    }
}
