//! Where the public routes attach: the Gateway (`--gateway-parent`) and, when the suite owns
//! it, its class (`--gateway-class`). Part of [`super`], the public exposure step.

use std::fmt;
use std::str::FromStr;

use super::is_dns_name;

/// The Gateway the routes attach to, and whether the suite renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// `parentRefs[0]` of every route.
    pub parent: ParentRef,
    /// When set, the suite owns the Gateway: it renders it with this `gatewayClassName` (and
    /// its TLS Secret) in the identity release. When unset, the platform provides it.
    pub class: Option<String>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            parent: ParentRef {
                namespace: None,
                name: DEFAULT_GATEWAY.into(),
                section: None,
            },
            class: None,
        }
    }
}

/// Checks a `gatewayClassName` given on the command line (a lower-case DNS name).
pub fn gateway_class(text: &str) -> Result<String, String> {
    if is_dns_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not a lower-case DNS name"))
    }
}

/// Name of the Gateway when none is configured (in the releases' namespace).
pub const DEFAULT_GATEWAY: &str = "openstack-gateway";

/// A Gateway reference: `[<namespace>/]<name>[/<section>]` (namespace defaults to the
/// releases' namespace; section to `https` with TLS, else any listener).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRef {
    /// Namespace of the Gateway; `None` is the releases' namespace.
    pub namespace: Option<String>,
    /// Name of the Gateway.
    pub name: String,
    /// Listener (`sectionName`) the routes attach to.
    pub section: Option<String>,
}

impl FromStr for ParentRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('/').collect();
        let (namespace, name, section) = match parts.as_slice() {
            [name] => (None, *name, None),
            [namespace, name] => (Some(*namespace), *name, None),
            [namespace, name, section] => (Some(*namespace), *name, Some(*section)),
            _ => {
                return Err(format!(
                    "{text:?}: expected [<namespace>/]<name>[/<section>]"
                ));
            }
        };
        // `ns//section` would leave the namespace to the default; say it instead.
        let namespace = namespace.filter(|n| !n.is_empty());
        for (what, part) in [
            ("namespace", namespace),
            ("name", Some(name)),
            ("section", section),
        ] {
            if let Some(part) = part
                && !is_dns_name(part)
            {
                return Err(format!(
                    "{text:?}: {what} {part:?} is not a lower-case DNS name"
                ));
            }
        }
        Ok(Self {
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            section: section.map(str::to_owned),
        })
    }
}

impl fmt::Display for ParentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(namespace) = &self.namespace {
            write!(f, "{namespace}/")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(section) = &self.section {
            write!(f, "/{section}")?;
        }
        Ok(())
    }
}
