//! Which OpenStackDeployment owns its namespace. One namespace holds one OpenStack: every
//! controller of the suite (osdpl, secrets, health) asks this one function, with the OSDPLs
//! it sees in the namespace, so all of them agree on who may render, apply, generate and
//! report. Pure.
//!
//! The rule: the oldest OSDPL (`metadata.creationTimestamp`) owns the namespace; OSDPLs
//! created in the same second are ordered by name. An owner being deleted stays the owner
//! until it is gone, so nobody else starts on releases its finalizer is still uninstalling.
//! Every other OSDPL is in conflict: it is reported, and nothing is done for it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

/// Where one OSDPL stands in its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// It owns the namespace.
    Owner,
    /// Another, older OSDPL owns the namespace.
    Conflict {
        /// Name of the owner.
        owner: String,
    },
}

/// The name of the OSDPL owning the namespace of `osdpls` (the metadata of every OSDPL in
/// it), or `None` when there is none. An object without a creation time (never the case for
/// one read from the API) counts as the newest.
pub fn owner<'a>(osdpls: impl IntoIterator<Item = &'a ObjectMeta>) -> Option<&'a str> {
    osdpls
        .into_iter()
        .filter_map(|meta| {
            Some((
                age_key(meta.creation_timestamp.as_ref()),
                meta.name.as_deref()?,
            ))
        })
        .min()
        .map(|(_, name)| name)
}

/// Where the OSDPL `name` stands among `osdpls` (which should include it; when it is
/// missing, it is compared as created at `created`).
pub fn standing<'a>(
    name: &str,
    created: Option<&'a Time>,
    osdpls: impl IntoIterator<Item = &'a ObjectMeta>,
) -> Standing {
    let own = (age_key(created), name);
    let older = osdpls
        .into_iter()
        .filter_map(|meta| {
            Some((
                age_key(meta.creation_timestamp.as_ref()),
                meta.name.as_deref()?,
            ))
        })
        .filter(|other| *other < own)
        .min();
    match older {
        Some((_, owner)) => Standing::Conflict {
            owner: owner.to_owned(),
        },
        None => Standing::Owner,
    }
}

/// Sort key of a creation time: unknown sorts after every known time.
fn age_key(created: Option<&Time>) -> (bool, Option<i64>) {
    let seconds = created.map(|t| t.0.as_second());
    (seconds.is_none(), seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, created: Option<i64>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            creation_timestamp: created
                .map(|s| Time(k8s_openapi::jiff::Timestamp::from_second(s).unwrap_or_default())),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn the_oldest_osdpl_owns_the_namespace_and_every_other_is_in_conflict_with_it() {
        let all = [meta("zeta", Some(100)), meta("alpha", Some(200))];
        assert_eq!(owner(&all), Some("zeta"));
        let created = all[0].creation_timestamp.as_ref();
        assert_eq!(standing("zeta", created, &all), Standing::Owner);
        let created = all[1].creation_timestamp.as_ref();
        assert_eq!(
            standing("alpha", created, &all),
            Standing::Conflict {
                owner: "zeta".into()
            }
        );
    }

    #[test]
    fn osdpls_created_in_the_same_second_are_ordered_by_name() {
        let all = [meta("b", Some(100)), meta("a", Some(100))];
        assert_eq!(owner(&all), Some("a"));
        let created = all[0].creation_timestamp.as_ref();
        assert_eq!(
            standing("b", created, &all),
            Standing::Conflict { owner: "a".into() }
        );
    }

    #[test]
    fn an_osdpl_alone_owns_its_namespace_even_when_the_list_does_not_show_it_yet() {
        let created = meta("x", Some(5)).creation_timestamp;
        assert_eq!(standing("x", created.as_ref(), &[]), Standing::Owner);
        assert_eq!(owner(&[]), None);
    }

    #[test]
    fn an_osdpl_without_a_creation_time_never_outranks_one_with_it() {
        let all = [meta("a", None), meta("b", Some(1))];
        assert_eq!(owner(&all), Some("b"));
    }
}
