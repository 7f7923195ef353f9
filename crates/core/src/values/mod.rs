//! Values: the pure building blocks of rendering an OSDPL into Helm values.
//!
//! - [`merge`]: the deep merge every layer goes through (maps merge, scalars replace, lists
//!   union with `~x` removal, type conflicts name their path).
//! - [`fingerprint`]: stable hashes of the merged spec and of release values.
//! - [`diff`]: readable differences between installed and rendered values (secrets hidden).
//!
//! No I/O happens here; the osdpl binary feeds these with what it fetched.

pub mod diff;
pub mod fingerprint;
pub mod merge;

pub use fingerprint::fingerprint;
pub use merge::{MergeError, merge_into, merged};
