//! Object storage through Ceph's RADOS gateways (upstream `ceph-rgw` chart, Keystone side only).

use super::model::Credential::Identity;
use super::model::{Chart, NO_PRESET, PublicApi, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "object-storage",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "rgw",
    feature: None,
    charts: &[
        // Ceph runs the gateways: `host_fqdn_override.default` names their Service (in Ceph's
        // namespace), which the route then targets.
        Chart {
            public_apis: &[
                PublicApi::new("object_store", "ceph-rgw", "api", 8088, &[]).internal_port()
            ],
            ..Chart::infra("ceph-rgw")
        },
    ],
    credentials: &[&[Identity]],
    presets: NO_PRESET,
};
