//! Keystone: identity, the first OpenStack service up (upstream `keystone` chart).

use super::model::Credential::{Database, MemcacheKey, Messaging, Secret};
use super::model::{CORE_AND_COMPUTE, Chart, NOTIFYING, PublicApi, SERVICE_API, Service, TESTED};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "identity",
    aliases: &[],
    stage: 1,
    stateful: false,
    project: "keystone",
    feature: Some("keystone"),
    charts: &[Chart {
        public_apis: &[
            PublicApi::new("identity", "keystone", "api", 80, SERVICE_API)
                .internal_host("keystone-api")
                .typed(5000),
        ],
        ..Chart::openstack("keystone")
    }],
    credentials: &[
        &[Database, Messaging, MemcacheKey],
        TESTED,
        NOTIFYING,
        // mod_auth_openidc encrypts its state and session cookies with it; every API
        // replica needs the same one.
        &[Secret("oidc_crypto_passphrase")],
    ],
    presets: CORE_AND_COMPUTE,
};
