//! Rotation of generated credentials, decided from the user's trigger and the Secrets. Pure.
//!
//! The user raises `status.credentials.<admin|service>.rotation_id` on the OSDPL by one. The
//! last handled id of a group is kept in the Secrets themselves, as the priority annotation of
//! the newest generation (Rockoon's `secret_priority`), so it survives restarts and the
//! deletion of the OSDPL. A rotation writes the new generation into the name that is *not*
//! active (`<name>` / `<name>-1`) with the new id as its priority, which makes it active; the
//! previous generation stays as it was, so pods still using it keep working until the rollout
//! completes. The generation before that one is the one a next rotation replaces, so a next
//! rotation waits until the rollout of the previous one is over: until `osdpl` reports the
//! OSDPL `APPLIED` again (or has never applied it, or it is a draft). Meanwhile the request is
//! refused with a condition saying what it waits for, and taken up when the state changes.

use k8s_openapi::api::core::v1::Secret;
use rockoon_core::credentials::{self, Group};

/// What to do with one group's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Every owner at `id` or below stays as it is; owners without credentials start at `id`.
    Keep {
        /// Priority given to a first generation.
        id: i64,
    },
    /// Every owner whose active generation is below `id` gets a new generation at `id`.
    RotateTo {
        /// The rotation id being handled.
        id: i64,
    },
    /// The requested id is refused; nothing rotates. Owners without credentials start at `id`.
    Refused {
        /// The last handled id.
        id: i64,
        /// Why, naming both ids.
        message: String,
    },
}

impl Plan {
    /// The priority a group's first generations get, and the id rotations bring owners to.
    pub fn id(&self) -> i64 {
        match self {
            Plan::Keep { id } | Plan::RotateTo { id } | Plan::Refused { id, .. } => *id,
        }
    }
}

/// Whether the OSDPL's state (`status.state`, written by osdpl) says no rollout is under way.
pub fn rollout_done(state: Option<&str>) -> bool {
    matches!(state, None | Some("APPLIED" | "DRAFT"))
}

/// The plan of `group` for the user's `requested` id, given the highest priority among the
/// group's credential Secrets (`None` when it has none yet) and the OSDPL's `state`.
pub fn plan(
    group: Group,
    requested: Option<i64>,
    handled: Option<i64>,
    state: Option<&str>,
) -> Plan {
    let field = format!("status.credentials.{}.rotation_id", group.as_str());
    match (requested, handled) {
        (None, handled) => Plan::Keep {
            id: handled.unwrap_or(0),
        },
        // Nothing generated yet: there is nothing to rotate, the first generation starts there.
        (Some(requested), None) => Plan::Keep { id: requested },
        // Finishing a rotation already started never waits.
        (Some(requested), Some(handled)) if requested == handled => {
            Plan::RotateTo { id: requested }
        }
        (Some(requested), Some(handled)) if requested == handled + 1 && !rollout_done(state) => {
            Plan::Refused {
                id: handled,
                message: format!(
                    "{field} {requested} waits for the rollout of rotation {handled} to finish \
                     (OpenStackDeployment state {}, not APPLIED): the generation it would \
                     replace may still be in use",
                    state.unwrap_or_default()
                ),
            }
        }
        (Some(requested), Some(handled)) if requested == handled + 1 => {
            Plan::RotateTo { id: requested }
        }
        (Some(requested), Some(handled)) if requested < handled => Plan::Refused {
            id: handled,
            message: format!(
                "{field} is {requested}, lower than {handled}, the last rotation handled; \
                 a rotation id never goes down"
            ),
        },
        (Some(requested), Some(handled)) => Plan::Refused {
            id: handled,
            message: format!(
                "{field} jumps from {handled} to {requested}; raise it by one to rotate \
                 (set it to {})",
                handled + 1
            ),
        },
    }
}

/// The highest priority among `secrets` that belong to `group`, if any does.
pub fn handled<'a>(group: Group, secrets: impl IntoIterator<Item = &'a Secret>) -> Option<i64> {
    secrets
        .into_iter()
        .filter(|s| credentials::owner(s).is_some_and(|o| Group::of(o) == group))
        .map(credentials::priority)
        .max()
}

/// The name a new generation of `owner` is written to: the one that is not `active`.
pub fn target(owner: &str, active: &str) -> String {
    let [first, second] = credentials::generation_names(owner);
    if active == first { second } else { first }
}

/// When the group's credentials last changed generation, for osdplst: the newest
/// [`credentials::ROTATED_AT_ANNOTATION`] among the active generations, or, before any
/// rotation, the oldest creation time.
pub fn timestamp<'a>(group: Group, active: impl IntoIterator<Item = &'a Secret>) -> Option<String> {
    let active: Vec<&Secret> = active
        .into_iter()
        .filter(|s| credentials::owner(s).is_some_and(|o| Group::of(o) == group))
        .collect();
    let rotated = active
        .iter()
        .filter_map(|s| {
            s.metadata
                .annotations
                .as_ref()?
                .get(credentials::ROTATED_AT_ANNOTATION)
        })
        .max()
        .cloned();
    rotated.or_else(|| {
        active
            .iter()
            .filter_map(|s| s.metadata.creation_timestamp.as_ref())
            .min_by_key(|t| t.0)
            .map(|t| t.0.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_by_one_or_repeating_the_handled_id_rotates() {
        assert_eq!(
            plan(Group::Service, Some(2), Some(1), Some("APPLIED")),
            Plan::RotateTo { id: 2 }
        );
        // The same id again finishes a rotation that stopped half-way.
        assert_eq!(
            plan(Group::Service, Some(1), Some(1), Some("APPLIED")),
            Plan::RotateTo { id: 1 }
        );
    }

    #[test]
    fn no_request_keeps_and_a_first_request_on_nothing_is_adopted() {
        assert_eq!(
            plan(Group::Admin, None, Some(3), Some("APPLIED")),
            Plan::Keep { id: 3 }
        );
        assert_eq!(
            plan(Group::Admin, None, None, Some("APPLIED")),
            Plan::Keep { id: 0 }
        );
        assert_eq!(
            plan(Group::Admin, Some(4), None, Some("APPLIED")),
            Plan::Keep { id: 4 }
        );
    }

    #[test]
    fn going_down_or_jumping_is_refused_naming_both_ids() {
        let Plan::Refused { id, message } = plan(Group::Admin, Some(1), Some(2), Some("APPLIED"))
        else {
            panic!("decrease accepted")
        };
        assert_eq!(id, 2);
        assert!(message.contains("status.credentials.admin.rotation_id is 1, lower than 2"));
        let Plan::Refused { message, .. } = plan(Group::Service, Some(5), Some(1), Some("APPLIED"))
        else {
            panic!("jump accepted")
        };
        assert!(message.contains("jumps from 1 to 5"), "{message}");
        assert!(message.contains("set it to 2"), "{message}");
    }

    #[test]
    fn a_new_rotation_waits_for_the_previous_rollout_but_finishing_one_does_not() {
        let Plan::Refused { id, message } =
            plan(Group::Service, Some(2), Some(1), Some("APPLYING"))
        else {
            panic!("rotated during a rollout")
        };
        assert_eq!(id, 1);
        assert!(
            message.contains("waits for the rollout of rotation 1"),
            "{message}"
        );
        assert_eq!(
            plan(Group::Service, Some(1), Some(1), Some("APPLYING")),
            Plan::RotateTo { id: 1 }
        );
        // Nothing applied yet, or a draft: no rollout to wait for.
        assert_eq!(
            plan(Group::Admin, Some(2), Some(1), None),
            Plan::RotateTo { id: 2 }
        );
        assert_eq!(
            plan(Group::Admin, Some(2), Some(1), Some("DRAFT")),
            Plan::RotateTo { id: 2 }
        );
    }

    #[test]
    fn generations_alternate_between_the_two_names() {
        assert_eq!(
            target("compute", "generated-compute-passwords"),
            "generated-compute-passwords-1"
        );
        assert_eq!(
            target("compute", "generated-compute-passwords-1"),
            "generated-compute-passwords"
        );
    }
}
