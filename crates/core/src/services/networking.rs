//! Neutron with Open vSwitch or OVN: networking (upstream `neutron`, `openvswitch`, `ovn` charts).

use super::model::{
    API, CORE_AND_COMPUTE, Chart, METADATA_PROXY, NOTIFYING, PublicApi, Service, TESTED,
};

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
    credentials: &[API, METADATA_PROXY, TESTED, NOTIFYING],
    presets: CORE_AND_COMPUTE,
};
