//! MariaDB Galera: the databases of every service (upstream `mariadb` chart).

use super::model::Credential::Secret;
use super::model::{CORE_AND_COMPUTE, Chart, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "database",
    aliases: &[],
    stage: 0,
    stateful: true,
    project: "mariadb",
    feature: Some("database"),
    charts: &[Chart::infra("mariadb")],
    credentials: &[&[
        Secret("sst_password"),
        Secret("audit_password"),
        Secret("exporter_password"),
    ]],
    presets: CORE_AND_COMPUTE,
};
