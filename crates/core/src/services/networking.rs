//! Neutron with Open vSwitch or OVN: networking (upstream `neutron`, `openvswitch`, `ovn` charts).

use super::model::Credential::{Database, Identity, MemcacheKey, Messaging, Secret, Shared};
use super::model::{CORE_AND_COMPUTE, Chart, PublicApi, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "networking",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "neutron",
    feature: Some("neutron"),
    charts: &[
        Chart {
            public_apis: &[PublicApi::new(
                "network",
                "neutron-server",
                "api",
                9696,
                &[("/manifests/service_server", "true", "true")],
            )
            .typed(9696)],
            ..Chart::openstack("neutron")
        },
        Chart::infra("openvswitch"),
        Chart::infra("ovn"),
    ],
    credentials: &[
        Database,
        Messaging,
        Identity,
        MemcacheKey,
        Shared("metadata_proxy_secret"),
        Secret("test_password"),
        Shared("notifications_password"),
    ],
    presets: CORE_AND_COMPUTE,
};
