//! Nova and libvirt: compute (upstream `nova` and `libvirt` charts).

use super::model::{
    API, CORE_AND_COMPUTE, Chart, METADATA_PROXY, NOTIFYING, PublicApi, Service, TESTED,
};

/// nova's API and its console proxies (the one the spec's `console.console_kind` picks).
const NOVA_APIS: &[PublicApi] = &[
    PublicApi::new(
        "compute",
        "nova-api",
        "api",
        8774,
        &[("/manifests/service_osapi", "true", "true")],
    )
    .typed(8774),
    PublicApi::new(
        "compute_novnc_proxy",
        "nova-novncproxy",
        "novnc_proxy",
        6080,
        &[
            ("/manifests/service_novncproxy", "true", "true"),
            ("/console/console_kind", "novnc", "novnc"),
        ],
    )
    .internal_port(),
    PublicApi::new(
        "compute_spice_proxy",
        "nova-spiceproxy",
        "spice_proxy",
        6082,
        &[
            ("/manifests/service_spiceproxy", "true", "true"),
            ("/console/console_kind", "spice", "novnc"),
        ],
    )
    .internal_port(),
    PublicApi::new(
        "compute_serial_proxy",
        "nova-serialproxy",
        "serial_proxy",
        6083,
        &[
            ("/manifests/service_serialproxy", "true", "true"),
            ("/console/console_kind", "serial", "novnc"),
        ],
    )
    .internal_port(),
];

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "compute",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "nova",
    feature: Some("nova"),
    charts: &[
        Chart {
            public_apis: NOVA_APIS,
            ..Chart::openstack("nova")
        },
        Chart::infra("libvirt"),
    ],
    credentials: &[API, METADATA_PROXY, TESTED, NOTIFYING],
    presets: CORE_AND_COMPUTE,
};
