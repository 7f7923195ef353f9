//! Designate with PowerDNS: DNS as a service (upstream `designate` and `powerdns` charts).

use super::model::Credential::Secret;
use super::model::{API, COMPUTE_ONLY, Chart, PublicApi, SERVICE_API, Service, TESTED};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "dns",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "designate",
    feature: Some("designate"),
    charts: &[
        Chart {
            public_apis: &[
                PublicApi::new("dns", "designate-api", "api", 9001, SERVICE_API).internal_port(),
            ],
            ..Chart::openstack("designate")
        },
        Chart::infra("powerdns"),
    ],
    credentials: &[API, &[Secret("powerdns_api_key")], TESTED],
    presets: COMPUTE_ONLY,
};
