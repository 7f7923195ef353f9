//! The public APIs of each upstream chart: per endpoint, the Service and port that serve it
//! and when the chart creates that Service. Facts read from the pinned charts' `values.yaml`
//! and service templates; [`super::expose`] turns them into routes.

/// One public API of a chart: the endpoint whose public host is routed, and the Service the
/// chart creates for it (name from `hosts.<internal|default>`, port from
/// `port.<port>.<lookup|default>`, as helm-toolkit looks them up).
#[derive(Debug)]
pub struct PublicApi {
    /// Chart name.
    pub chart: &'static str,
    /// `endpoints.<endpoint>` key.
    pub endpoint: &'static str,
    /// The chart's `endpoints.<endpoint>.hosts.default`.
    pub host_default: &'static str,
    /// The chart's `endpoints.<endpoint>.hosts.internal`, when it has one.
    pub host_internal: Option<&'static str>,
    /// Port name under `endpoints.<endpoint>.port`.
    pub port: &'static str,
    /// Which endpoint type the chart's Service port looks up (`service` or `internal`).
    pub port_lookup: &'static str,
    /// The chart's value of `port.<port>.<port_lookup>`, when it has one.
    pub port_typed: Option<u16>,
    /// The chart's `port.<port>.default`.
    pub port_default: u16,
    /// Conditions for the chart to create the Service: `(values pointer, expected value, chart
    /// default)`, compared as strings.
    pub when: &'static [(&'static str, &'static str, &'static str)],
}

const fn api(
    chart: &'static str,
    endpoint: &'static str,
    host_default: &'static str,
    port: &'static str,
    port_default: u16,
    when: &'static [(&'static str, &'static str, &'static str)],
) -> PublicApi {
    PublicApi {
        chart,
        endpoint,
        host_default,
        host_internal: None,
        port,
        port_lookup: "service",
        port_typed: None,
        port_default,
        when,
    }
}

/// The public APIs of the upstream charts (snapshot of `../shared/openstack-helm`: each
/// chart's `values.yaml` `endpoints` and its `service*.yaml` templates).
pub const PUBLIC_APIS: &[PublicApi] = &[
    PublicApi {
        host_internal: Some("keystone-api"),
        port_typed: Some(5000),
        ..api("keystone", "identity", "keystone", "api", 80, SERVICE_API)
    },
    api("glance", "image", "glance-api", "api", 9292, SERVICE_API),
    PublicApi {
        port_typed: Some(8774),
        ..api(
            "nova",
            "compute",
            "nova-api",
            "api",
            8774,
            &[("/manifests/service_osapi", "true", "true")],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "nova",
            "compute_novnc_proxy",
            "nova-novncproxy",
            "novnc_proxy",
            6080,
            &[
                ("/manifests/service_novncproxy", "true", "true"),
                ("/console/console_kind", "novnc", "novnc"),
            ],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "nova",
            "compute_spice_proxy",
            "nova-spiceproxy",
            "spice_proxy",
            6082,
            &[
                ("/manifests/service_spiceproxy", "true", "true"),
                ("/console/console_kind", "spice", "novnc"),
            ],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "nova",
            "compute_serial_proxy",
            "nova-serialproxy",
            "serial_proxy",
            6083,
            &[
                ("/manifests/service_serialproxy", "true", "true"),
                ("/console/console_kind", "serial", "novnc"),
            ],
        )
    },
    PublicApi {
        port_typed: Some(8778),
        ..api(
            "placement",
            "placement",
            "placement-api",
            "api",
            8778,
            &[("/manifests/service", "true", "true")],
        )
    },
    PublicApi {
        port_typed: Some(9696),
        ..api(
            "neutron",
            "network",
            "neutron-server",
            "api",
            9696,
            &[("/manifests/service_server", "true", "true")],
        )
    },
    api("cinder", "volumev3", "cinder-api", "api", 8776, SERVICE_API),
    PublicApi {
        port_typed: Some(8004),
        ..api(
            "heat",
            "orchestration",
            "heat-api",
            "api",
            8004,
            SERVICE_API,
        )
    },
    PublicApi {
        port_typed: Some(8000),
        ..api(
            "heat",
            "cloudformation",
            "heat-cfn",
            "api",
            8000,
            &[("/manifests/service_cfn", "true", "true")],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "horizon",
            "dashboard",
            "horizon-int",
            "web",
            80,
            &[("/manifests/service", "true", "true")],
        )
    },
    api(
        "octavia",
        "load_balancer",
        "octavia-api",
        "api",
        9876,
        SERVICE_API,
    ),
    PublicApi {
        port_typed: Some(9311),
        ..api(
            "barbican",
            "key_manager",
            "barbican-api",
            "api",
            9311,
            SERVICE_API,
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "designate",
            "dns",
            "designate-api",
            "api",
            9001,
            SERVICE_API,
        )
    },
    api(
        "masakari",
        "instance_ha",
        "masakari-api",
        "api",
        15868,
        SERVICE_API,
    ),
    PublicApi {
        port_typed: Some(8786),
        ..api("manila", "sharev2", "manila-api", "api", 8786, SERVICE_API)
    },
    // Ceph runs the gateways: `host_fqdn_override.default` names their Service (in Ceph's
    // namespace), which the route then targets.
    PublicApi {
        port_lookup: "internal",
        ..api("ceph-rgw", "object_store", "ceph-rgw", "api", 8088, &[])
    },
];

pub(super) const SERVICE_API: &[(&str, &str, &str)] = &[("/manifests/service_api", "true", "true")];
