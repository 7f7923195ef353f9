//! Generated certificates: the contract between `secrets`, which creates them, and `osdpl`,
//! whose render waits for them and points the charts at them. Pure: which certificate sets a
//! spec needs, their Secrets' names and keys (the ones the upstream charts mount), whether a
//! Secret is complete, and the generation itself (`rcgen`); the binaries make the API calls.
//!
//! Two sets, each with its own CA so that one set's certificates never open the other's door
//! (a noVNC proxy's client certificate must not be a libvirt client certificate):
//!
//! - `libvirt-tls` (`features.nova.libvirt.tls.enabled`): libvirtd's TLS listener, which the
//!   source host's libvirtd uses to reach the destination's during live migration. Secrets
//!   `libvirt-tls-server` (`cacert.pem`, `servercert.pem`, `serverkey.pem`) and
//!   `libvirt-tls-client` (`cacert.pem`, `clientcert.pem`, `clientkey.pem`): the libvirt
//!   chart's `secrets.tls.server`/`client` and the file names its `tls_volume_mount`s use.
//! - `libvirt-vnc-tls` (`features.nova.console.novnc.tls.enabled`): VeNCrypt between
//!   nova-novncproxy and QEMU's VNC servers. Secrets `libvirt-vnc-tls-server` (`ca-cert.pem`,
//!   `server-cert.pem`, `server-key.pem`: the file names of QEMU's `vnc_tls_x509_cert_dir`) and
//!   `nova-novncproxy-vencrypt` (`ca.crt`, `tls.crt`, `tls.key`: the nova chart's
//!   `secrets.tls.compute_novnc_proxy.vencrypt.internal` and the paths it sets).
//!
//! Each set's CA lives in a Secret of its own (`<set>-ca`, keys `ca.crt`, `ca.key`) that no pod
//! mounts: only `secrets` reads it, to issue a leaf whose Secret is gone.
//!
//! **Names.** Every compute host mounts the same server certificate (one Secret, one
//! DaemonSet), so it cannot name the hosts. Peers therefore do not check host names:
//! - libvirt: nova's migration URI carries `no_verify=1` (see the compute template), so the
//!   source libvirtd neither checks the destination's certificate nor its name; the
//!   destination still requires a client certificate signed by the set's CA
//!   (libvirtd's default `tls_no_verify_certificate = 0`). The channel is encrypted and only
//!   holders of the client key can open it; a host on the migration network could still pose
//!   as a destination.
//! - VNC: nova-novncproxy checks QEMU's certificate against the CA but passes no server name
//!   (nova's VeNCrypt client checks the chain only); QEMU checks the proxy's client
//!   certificate against the CA (`vnc_tls_x509_verify`).
//!
//! The server certificates still name what a local client would use (`localhost`,
//! `127.0.0.1`) and the service (`libvirt`, `libvirt-vnc`).
//!
//! **Never regenerated.** A Secret that exists is never written again. A leaf whose Secret is
//! gone is issued again from its CA (a new key, the same CA, so the other side keeps trusting
//! it). A CA is generated only together with every leaf of its set, when none of them exists:
//! a CA Secret deleted while leaves remain is not replaced, and a missing leaf then is a
//! [`Problem`] (delete the set's Secrets to start over).
//!
//! Keys are ECDSA P-256 (PKCS#8 PEM), which GnuTLS (libvirt, QEMU) and Python's ssl (nova)
//! read. Validity: the CA 10 years, leaves 3 years, from the day before issue (clock skew).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::jiff::civil::Date;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::Value;

/// Label on every certificate Secret; its value is the set's name.
pub const SET_LABEL: &str = "lcm.mirantis.com/certificates";
/// Key of a CA Secret holding the CA certificate.
pub const CA_CERT_KEY: &str = "ca.crt";
/// Key of a CA Secret holding the CA's private key.
pub const CA_KEY_KEY: &str = "ca.key";
/// Validity of a CA, in years.
pub const CA_YEARS: i16 = 10;
/// Validity of a leaf certificate, in years.
pub const LEAF_YEARS: i16 = 3;

/// Which side of TLS a leaf certificate serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `serverAuth`.
    Server,
    /// `clientAuth`.
    Client,
}

/// One leaf certificate and the Secret that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    /// Secret name (the one the chart mounts).
    pub secret: &'static str,
    /// Data key of the CA certificate.
    pub ca_key: &'static str,
    /// Data key of the certificate.
    pub cert_key: &'static str,
    /// Data key of the private key.
    pub key_key: &'static str,
    /// TLS side.
    pub role: Role,
    /// Subject common name.
    pub common_name: &'static str,
    /// Subject alternative names (DNS names or IP addresses).
    pub names: &'static [&'static str],
}

impl Leaf {
    /// The data keys a complete Secret of this leaf has.
    pub fn keys(&self) -> [&'static str; 3] {
        [self.ca_key, self.cert_key, self.key_key]
    }
}

/// A CA and the leaves it signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Set {
    /// Name of the set (the value of [`SET_LABEL`]).
    pub name: &'static str,
    /// The spec setting that asks for it (dotted, under `spec`).
    pub setting: &'static str,
    /// Secret holding the CA (never mounted).
    pub ca_secret: &'static str,
    /// The CA's common name.
    pub ca_common_name: &'static str,
    /// The leaves.
    pub leaves: &'static [Leaf],
}

impl Set {
    /// Every Secret of the set: the CA first, then the leaves.
    pub fn secrets(&self) -> impl Iterator<Item = &'static str> + use<> {
        let ca = self.ca_secret;
        let leaves = self.leaves;
        std::iter::once(ca).chain(leaves.iter().map(|l| l.secret))
    }
}

/// libvirtd's TLS listener (live migration between compute hosts).
pub const LIBVIRT: Set = Set {
    name: "libvirt-tls",
    setting: "features.nova.libvirt.tls.enabled",
    ca_secret: "libvirt-tls-ca",
    ca_common_name: "Rockoon libvirt CA",
    leaves: &[
        Leaf {
            secret: "libvirt-tls-server",
            ca_key: "cacert.pem",
            cert_key: "servercert.pem",
            key_key: "serverkey.pem",
            role: Role::Server,
            common_name: "libvirt",
            names: &["libvirt", "localhost", "127.0.0.1"],
        },
        Leaf {
            secret: "libvirt-tls-client",
            ca_key: "cacert.pem",
            cert_key: "clientcert.pem",
            key_key: "clientkey.pem",
            role: Role::Client,
            common_name: "libvirt-client",
            names: &[],
        },
    ],
};

/// VeNCrypt between nova-novncproxy and QEMU's VNC servers.
pub const VNC: Set = Set {
    name: "libvirt-vnc-tls",
    setting: "features.nova.console.novnc.tls.enabled",
    ca_secret: "libvirt-vnc-tls-ca",
    ca_common_name: "Rockoon VNC CA",
    leaves: &[
        Leaf {
            secret: "libvirt-vnc-tls-server",
            ca_key: "ca-cert.pem",
            cert_key: "server-cert.pem",
            key_key: "server-key.pem",
            role: Role::Server,
            common_name: "libvirt-vnc",
            names: &["libvirt-vnc", "localhost", "127.0.0.1"],
        },
        Leaf {
            secret: "nova-novncproxy-vencrypt",
            ca_key: "ca.crt",
            cert_key: "tls.crt",
            key_key: "tls.key",
            role: Role::Client,
            common_name: "nova-novncproxy",
            names: &["nova-novncproxy"],
        },
    ],
};

/// The service whose releases mount the certificates (libvirt and nova).
pub const SERVICE: &str = "compute";

/// Every set, in a fixed order.
pub const SETS: &[Set] = &[LIBVIRT, VNC];

/// The sets a spec asks for: `spec` is the OSDPL spec as JSON (raw or merged), `compute`
/// whether it enables the compute service (nothing mounts them otherwise).
pub fn needed(spec: &Value, compute: bool) -> Vec<&'static Set> {
    if !compute {
        return Vec::new();
    }
    SETS.iter()
        .filter(|set| {
            let pointer = format!("/{}", set.setting.replace('.', "/"));
            spec.pointer(&pointer).and_then(Value::as_bool) == Some(true)
        })
        .collect()
}

/// Whether `data` holds every key of `leaf`, each non-empty.
pub fn complete(leaf: &Leaf, data: Option<&BTreeMap<String, ByteString>>) -> bool {
    let Some(data) = data else {
        return false;
    };
    leaf.keys()
        .iter()
        .all(|key| data.get(*key).is_some_and(|v| !v.0.is_empty()))
}

/// The leaf Secret of `name`, in any set.
pub fn leaf(name: &str) -> Option<&'static Leaf> {
    SETS.iter()
        .flat_map(|set| set.leaves)
        .find(|leaf| leaf.secret == name)
}

/// Names of the complete leaf Secrets among `secrets` (what the render may mount).
pub fn present<'a>(
    secrets: impl IntoIterator<Item = &'a k8s_openapi::api::core::v1::Secret>,
) -> std::collections::BTreeSet<String> {
    secrets
        .into_iter()
        .filter_map(|secret| {
            let name = secret.metadata.name.as_deref()?;
            complete(leaf(name)?, secret.data.as_ref()).then(|| name.to_owned())
        })
        .collect()
}

/// Why a set cannot be completed; names Secrets and keys, never their content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The CA is gone while some leaves remain, and another leaf must be issued.
    #[error(
        "Secret {missing} of {set} cannot be issued: its CA Secret {ca} is gone while {remaining} remain(s); delete the set's Secrets to have them all generated again"
    )]
    CaGone {
        /// The set.
        set: &'static str,
        /// The CA Secret.
        ca: &'static str,
        /// The leaf that cannot be issued.
        missing: &'static str,
        /// Leaves that still exist.
        remaining: String,
    },
    /// The CA Secret exists but its certificate or key cannot be used.
    #[error("Secret {ca} of {set}: {reason}")]
    CaUnusable {
        /// The set.
        set: &'static str,
        /// The CA Secret.
        ca: &'static str,
        /// What is wrong (no content).
        reason: String,
    },
    /// Key generation or signing failed.
    #[error("{set}: cannot generate a certificate: {reason}")]
    Generation {
        /// The set.
        set: &'static str,
        /// rcgen's error.
        reason: String,
    },
}

/// A Secret to create: name and data (text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// Secret name.
    pub name: &'static str,
    /// Data keys and PEM text.
    pub data: BTreeMap<String, String>,
}

/// What to create so that every Secret of `set` exists, given the data of those that exist
/// (`existing`, by name; a Secret that exists is never in the result). CA first, so a caller
/// creating in order never leaves a leaf without its CA. `today` starts the validity.
pub fn plan(
    set: &Set,
    existing: &BTreeMap<String, Option<BTreeMap<String, ByteString>>>,
    today: Date,
) -> Result<Vec<NewSecret>, Problem> {
    let missing: Vec<&Leaf> = set
        .leaves
        .iter()
        .filter(|l| !existing.contains_key(l.secret))
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let generation = |e: rcgen::Error| Problem::Generation {
        set: set.name,
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    let (ca_pem, ca_key) = match existing.get(set.ca_secret) {
        Some(data) => read_ca(set, data.as_ref())?,
        None => {
            let remaining: Vec<&str> = set
                .leaves
                .iter()
                .filter(|l| existing.contains_key(l.secret))
                .map(|l| l.secret)
                .collect();
            if !remaining.is_empty() {
                return Err(Problem::CaGone {
                    set: set.name,
                    ca: set.ca_secret,
                    missing: missing[0].secret,
                    remaining: remaining.join(", "),
                });
            }
            let (pem, key) = new_ca(set, today).map_err(generation)?;
            out.push(NewSecret {
                name: set.ca_secret,
                data: BTreeMap::from([
                    (CA_CERT_KEY.to_owned(), pem.clone()),
                    (CA_KEY_KEY.to_owned(), key.serialize_pem()),
                ]),
            });
            (pem, key)
        }
    };
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key).map_err(|e| Problem::CaUnusable {
        set: set.name,
        ca: set.ca_secret,
        reason: format!("{CA_CERT_KEY} is no usable CA certificate ({e})"),
    })?;
    for leaf in missing {
        let key = KeyPair::generate().map_err(generation)?;
        let cert = leaf_params(leaf, today)
            .map_err(generation)?
            .signed_by(&key, &issuer)
            .map_err(generation)?;
        out.push(NewSecret {
            name: leaf.secret,
            data: BTreeMap::from([
                (leaf.ca_key.to_owned(), ca_pem.clone()),
                (leaf.cert_key.to_owned(), cert.pem()),
                (leaf.key_key.to_owned(), key.serialize_pem()),
            ]),
        });
    }
    Ok(out)
}

fn read_ca(
    set: &Set,
    data: Option<&BTreeMap<String, ByteString>>,
) -> Result<(String, KeyPair), Problem> {
    let unusable = |reason: String| Problem::CaUnusable {
        set: set.name,
        ca: set.ca_secret,
        reason,
    };
    let text = |key: &str| -> Result<String, Problem> {
        let bytes = data
            .and_then(|d| d.get(key))
            .ok_or_else(|| unusable(format!("no key {key}")))?;
        String::from_utf8(bytes.0.clone()).map_err(|_| unusable(format!("{key} is not text")))
    };
    let pem = text(CA_CERT_KEY)?;
    let key = KeyPair::from_pem(&text(CA_KEY_KEY)?)
        .map_err(|_| unusable(format!("{CA_KEY_KEY} is no usable private key")))?;
    Ok((pem, key))
}

/// The validity window starting the day before `today`, `years` long.
fn validity(params: &mut CertificateParams, today: Date, years: i16) {
    let start = today.yesterday().unwrap_or(today);
    let end = start
        .checked_add(k8s_openapi::jiff::Span::new().years(years))
        .unwrap_or(start);
    let (y, m, d) = ymd(start);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = ymd(end);
    params.not_after = rcgen::date_time_ymd(y, m, d);
}

/// A civil date as rcgen takes it (jiff's month and day are always in 1..=12 and 1..=31).
fn ymd(date: Date) -> (i32, u8, u8) {
    (
        i32::from(date.year()),
        date.month().unsigned_abs(),
        date.day().unsigned_abs(),
    )
}

fn new_ca(set: &Set, today: Date) -> Result<(String, KeyPair), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, set.ca_common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Rockoon");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, today, CA_YEARS);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key))
}

fn leaf_params(leaf: &Leaf, today: Date) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(
        leaf.names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<Vec<_>>(),
    )?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, leaf.common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Rockoon");
    params.is_ca = IsCa::ExplicitNoCa;
    // libvirt's and QEMU's sanity checks of their own certificates want both usages when the
    // extension is present, whatever the key type.
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![match leaf.role {
        Role::Server => ExtendedKeyUsagePurpose::ServerAuth,
        Role::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, today, LEAF_YEARS);
    Ok(params)
}

#[cfg(test)]
#[path = "certificates_tests.rs"]
mod tests;
