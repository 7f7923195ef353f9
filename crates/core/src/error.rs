//! Stable error kinds.
//!
//! Every error of the suite (the domain's here, each binary's own enum, the runtime's)
//! implements [`ErrorKind`], whose `kind()` is a stable snake_case label used in logs, the
//! `error` label of metrics and event reasons, never a `Debug` string. The trait lives in the
//! domain crate because domain errors (a render error) carry kinds too; the retry policy that
//! reads `is_transient` lives in `rockoon-runtime`.

/// An error with a stable, low-cardinality label.
pub trait ErrorKind {
    /// Stable snake_case label of this error's kind.
    fn kind(&self) -> &'static str;

    /// Whether retrying can help; errors that need a change of the object (an invalid spec)
    /// wait for that change instead of being retried.
    fn is_transient(&self) -> bool {
        true
    }
}
