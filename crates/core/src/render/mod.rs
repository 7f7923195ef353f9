//! The render engine: an OpenStackDeployment plus a render context → Helm releases with values.
//!
//! Pure: everything it needs (generated credentials, referenced Secret values, Ceph data,
//! templates) is handed in; nothing is fetched. Pipeline:
//!
//! 1. [`spec::merged_spec`]: `value_from` references resolved, then preset → size → artifact
//!    base URLs → user spec, with the [`crate::values::merge`] rules; its fingerprint. A
//!    reference to a missing Secret makes the services it feeds wait, naming it.
//! 2. [`catalog`]: the enabled services in apply order (infra, identity, the rest).
//! 3. Per service, its template renders the releases ([`service`]); a service whose inputs are
//!    not there yet (credentials, Ceph keys) is `Waiting` with the reason, never rendered with
//!    placeholders.
//! 4. [`overrides`]: per release, `common.charts.releases`, `common.<group>`,
//!    `services.<service>.<chart>.values`, then `nodes` overrides; then each node group's
//!    `features` ([`node_features`]: the services rendered again with them, the difference
//!    layered per node).
//! 5. Each release's values get a fingerprint, used to skip unchanged Helm upgrades.
//! 6. [`routes`]: with the `ingress` service, an `HTTPRoute` per public API in its release's
//!    `extraObjects` (and the Gateway, when the suite owns it); fingerprints refreshed.
//! 7. Enabled services this version cannot render are `Unsupported` entries with the reason
//!    ([`catalog::unsupported_services`]); settings nothing renders are listed in
//!    [`Rendered::unsupported`] ([`unused`], [`node_overrides`], [`unsupported_settings`]);
//!    main releases `migration.<chart>.deploy_main_service: false` holds are set apart in
//!    [`Rendered::held`] ([`held`]).
//! 8. [`precache`]: one image pre-caching DaemonSet per node role.

pub mod catalog;
pub mod context;
pub mod held;
pub mod node_features;
pub mod node_overrides;
pub mod overrides;
pub mod precache;
pub mod removals;
pub mod routes;
pub mod secret_refs;
pub mod service;
pub mod shapes;
pub mod spec;
pub mod templates;
pub mod unsupported_settings;
pub mod unused;

use serde::Serialize;
use serde_json::Value;

pub use crate::services::ChartGroup;
pub use context::RenderContext;
pub use routes::{GatewaySettings, ParentRef};
pub use templates::Templates;

use crate::values::{MergeError, fingerprint};

/// Why a deployment cannot be rendered. Every variant names where the problem is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// A required key is missing or has the wrong type.
    #[error("invalid spec at {path}: {message}")]
    InvalidSpec {
        /// Dotted path in the OSDPL.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// `spec.openstack_version` is a release Rockoon knows (its CRD accepts it) that this
    /// version has no image list for: refused as a whole, with its own status reason
    /// (`UnsupportedRelease`) rather than a generic invalid spec.
    #[error(
        "spec.openstack_version: OpenStack release {version:?} is not supported by this version (supported: {})",
        supported.join(", ")
    )]
    UnsupportedRelease {
        /// The release asked for.
        version: String,
        /// The releases this version renders, oldest first.
        supported: Vec<String>,
    },
    /// Two layers disagree on the type of a key.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// `features.services` names a service the suite does not know or cannot render.
    #[error("{path}: unknown service {name:?}{hint}")]
    UnknownService {
        /// Where it was named.
        path: String,
        /// The name.
        name: String,
        /// A hint, e.g. that the service is known but not supported by this version.
        hint: String,
    },
    /// A `value_from.secret_key_ref` names a Secret or key that is not there.
    #[error("{path}: value_from.secret_key_ref: {problem}")]
    SecretRef {
        /// Where the reference is.
        path: String,
        /// What is wrong with it (the Secret or key it names is not there, or it names a
        /// namespace other than the OSDPL's).
        problem: String,
    },
    /// A template asked to wait (its inputs are not there yet); never escapes [`render`].
    #[error("waiting: {0}")]
    Wait(String),
    /// A template failed to load or render.
    #[error("template {template}: {message}")]
    Template {
        /// Relative template name.
        template: String,
        /// The engine's message.
        message: String,
    },
}

impl crate::error::ErrorKind for RenderError {
    fn kind(&self) -> &'static str {
        match self {
            RenderError::InvalidSpec { .. } => "invalid_spec",
            RenderError::UnsupportedRelease { .. } => "unsupported_release",
            RenderError::Merge(_) => "merge_conflict",
            RenderError::UnknownService { .. } => "unknown_service",
            RenderError::SecretRef { .. } => "missing_secret_ref",
            RenderError::Template { .. } => "template",
            RenderError::Wait(_) => "waiting",
        }
    }

    fn is_transient(&self) -> bool {
        // A missing referenced Secret may appear; the rest needs a change of spec or templates.
        matches!(self, RenderError::SecretRef { .. } | RenderError::Wait(_))
    }
}

/// One Helm release, ready to apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    /// Helm release name.
    pub name: String,
    /// Chart name (within its group's source).
    pub chart: String,
    /// Chart group: `openstack` or `infra`; picks the chart source.
    pub group: ChartGroup,
    /// Chart version constraint, when the spec pins one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Namespace the release goes to.
    pub namespace: String,
    /// Fully merged values.
    pub values: Value,
    /// Fingerprint of `values`.
    pub fingerprint: String,
}

/// What rendering produced for one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServiceOutcome {
    /// Releases to apply, in order.
    Ready {
        /// The releases.
        releases: Vec<Release>,
    },
    /// Inputs are missing; nothing is rendered for this service yet.
    Waiting {
        /// What it waits for.
        reason: String,
    },
    /// Enabled, but this version cannot render it (a Rockoon service without a chart here, or
    /// outside Rockoon's releases for it); nothing is rendered or removed for it.
    Unsupported {
        /// Why.
        reason: String,
    },
}

/// The whole deployment, rendered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    /// Fingerprint of the merged spec (`status.fingerprint`).
    pub fingerprint: String,
    /// Enabled services in apply order, with their outcome.
    pub services: Vec<(String, ServiceOutcome)>,
    /// Image pre-caching DaemonSets, one per node role (plain Kubernetes objects).
    pub precache: Vec<Value>,
    /// Spec settings no chart can take, as `path: why` (reported in the OSDPL status condition
    /// `UnsupportedSettings` and by `render`, never dropped in silence).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
    /// Main releases `migration.<chart>.deploy_main_service: false` holds: rendered, but
    /// neither installed, upgraded nor uninstalled ([`held`]); not among `services`' releases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<held::Held>,
}

impl Rendered {
    /// Every ready release, in apply order.
    pub fn releases(&self) -> impl Iterator<Item = &Release> {
        self.services.iter().flat_map(|(_, outcome)| match outcome {
            ServiceOutcome::Ready { releases } => releases.as_slice(),
            ServiceOutcome::Waiting { .. } | ServiceOutcome::Unsupported { .. } => &[],
        })
    }
}

/// Renders `spec` (the OSDPL's `.spec` as JSON) with `context` and `templates`.
pub fn render(
    spec: &Value,
    context: &RenderContext,
    templates: &Templates,
) -> Result<Rendered, RenderError> {
    render_only(spec, context, templates, None)
}

/// [`render_only`] of the typed spec: its one conversion to the JSON the layers merge in.
pub fn render_spec(
    spec: &crate::crd::OpenStackDeploymentSpec,
    context: &RenderContext,
    templates: &Templates,
    only: Option<&str>,
) -> Result<Rendered, RenderError> {
    let spec = serde_json::to_value(spec).map_err(|e| RenderError::InvalidSpec {
        path: "spec".into(),
        message: e.to_string(),
    })?;
    render_only(&spec, context, templates, only)
}

/// [`render`], limited to the enabled service `only` when given: no other service's template
/// is rendered (the fingerprint is still the whole merged spec's).
pub fn render_only(
    spec: &Value,
    context: &RenderContext,
    templates: &Templates,
    only: Option<&str>,
) -> Result<Rendered, RenderError> {
    unused::check_service_names(spec)?;
    let (merged, missing_refs) = spec::merged_spec(spec, context, templates)?;
    node_overrides::check_keys(&merged)?;
    shapes::check(&merged)?;
    let fingerprint = fingerprint(&merged);
    let images = context::images(&merged, context, templates)?;
    let shared = service::shared_context(&merged, &images, context);
    let mut services = Vec::new();
    // `ingress` decides whether public routes are exposed (see `routes::expose`), so it renders
    // with whichever service is asked for, and leaves again after.
    let asked = |name: &str| only.is_none_or(|o| o == name);
    let wanted = catalog::enabled_services(&merged)?;
    removals::check(spec, &wanted, &context.confirmed_removals)?;
    for service in wanted
        .into_iter()
        .filter(|s| asked(s.name) || s.name == "ingress")
    {
        let missing = missing_refs.iter().find(|e| {
            matches!(e, RenderError::SecretRef { path, .. } if secret_refs::affects(path, service.name))
        });
        let outcome = match missing {
            // Nothing is rendered for a service whose referenced Secret is missing.
            Some(error) => ServiceOutcome::Waiting {
                reason: error.to_string(),
            },
            None => service::render_service(service, &merged, &shared, context, templates)?,
        };
        services.push((service.name.to_owned(), outcome));
    }
    let node_features = node_features::apply(&mut services, &merged, &images, context, templates)?;
    routes::expose(&mut services, &merged, &context.gateway)?;
    // Last, after everything that renders: reported, never applied.
    for (name, reason) in catalog::unsupported_services(&merged)? {
        services.push((name, ServiceOutcome::Unsupported { reason }));
    }
    services.retain(|(name, _)| asked(name));
    let mut rendered = Rendered {
        fingerprint,
        services,
        precache: Vec::new(),
        unsupported: node_overrides::unsupported(&merged),
        held: Vec::new(),
    };
    rendered.unsupported.extend(node_features);
    if only.is_none() {
        let unused = unused::unused(spec, &rendered.services);
        rendered.unsupported.extend(unused);
        rendered
            .unsupported
            .extend(unsupported_settings::found(spec, &merged));
        rendered.unsupported.extend(routes::unrendered_tls(
            &rendered.services,
            &merged,
            &context.gateway,
        ));
    }
    // After `unused`: a held release's values are the service's, not values for nothing.
    let (held, idle) = held::hold(&mut rendered.services, &merged);
    rendered.held = held;
    if only.is_none() {
        rendered.unsupported.extend(idle);
    }
    rendered.precache = precache::daemonsets(rendered.releases(), &context.namespace);
    Ok(rendered)
}
