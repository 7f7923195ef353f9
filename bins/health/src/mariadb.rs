//! MariaDB primary/backup selection, pure: which pod of a `mariadb-server` StatefulSet carries
//! the primary label, and in which order the labels change so that two pods never carry it at
//! once. [`crate::labels`] reads the pods and writes the labels.
//!
//! The rule (the MariaDB controller's, as MOSK documents it), per StatefulSet:
//!
//! 1. A pod that already carries the primary label keeps it while it is ready and not being
//!    terminated, even when a pod with a lower ordinal is ready (no failback: Galera clients
//!    would be moved for nothing).
//! 2. Otherwise (no primary yet, or the primary stopped being ready, is terminating or is
//!    gone) the primary label goes to the ready, non-terminating pod with the lowest ordinal
//!    (`mariadb-server-1` before `mariadb-server-2`), if there is one; else no pod is primary.
//! 3. Every other pod carries the backup label.
//!
//! Should several pods carry the primary label (a hand edit), the eligible one with the lowest
//! ordinal keeps it. The changes come in a safe order ([`plan`]): every demotion first, then
//! labelling new pods backup, the promotion last, and the writer stops at the first failed
//! write, so a promotion is only written once no other pod carries the label.

/// Role label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Receives the clients' requests (the `mariadb` Service selects it).
    Primary,
    /// Replicates from the primary.
    Backup,
}

impl Role {
    /// The label value.
    pub fn word(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Backup => "backup",
        }
    }

    /// The role a label value names (anything else counts as no role).
    pub fn from_word(word: &str) -> Option<Role> {
        match word {
            "primary" => Some(Role::Primary),
            "backup" => Some(Role::Backup),
            _ => None,
        }
    }
}

/// One pod of the StatefulSet, as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Pod name.
    pub name: String,
    /// Ready condition is True.
    pub ready: bool,
    /// `deletionTimestamp` is set.
    pub terminating: bool,
    /// Role label now (our own last write when the cache has not caught up yet).
    pub role: Option<Role>,
}

impl Member {
    /// May hold the primary label.
    fn eligible(&self) -> bool {
        self.ready && !self.terminating
    }

    /// The StatefulSet ordinal (the integer after the last `-`); pods without one sort last.
    pub fn ordinal(&self) -> u64 {
        self.name
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(u64::MAX)
    }

    fn order(&self) -> (u64, &str) {
        (self.ordinal(), &self.name)
    }
}

/// The pod that should be primary (clauses 1 and 2), as an index into `members`.
pub fn primary(members: &[Member]) -> Option<usize> {
    let lowest = |keep: &dyn Fn(&Member) -> bool| {
        members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.eligible() && keep(m))
            .min_by(|(_, a), (_, b)| a.order().cmp(&b.order()))
            .map(|(i, _)| i)
    };
    lowest(&|m| m.role == Some(Role::Primary)).or_else(|| lowest(&|_| true))
}

/// One label write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Index into the members.
    pub member: usize,
    /// The role to write.
    pub role: Role,
}

/// The label writes that bring `members` to the rule, in the order they must happen:
/// demotions of primaries, then backups for unlabelled pods, then the promotion.
pub fn plan(members: &[Member]) -> Vec<Change> {
    let chosen = primary(members);
    let wanted = |i: usize| {
        if Some(i) == chosen {
            Role::Primary
        } else {
            Role::Backup
        }
    };
    let mut changes: Vec<Change> = members
        .iter()
        .enumerate()
        .filter(|(i, m)| m.role != Some(wanted(*i)))
        .map(|(i, _)| Change {
            member: i,
            role: wanted(i),
        })
        .collect();
    // Demotions (primary → backup) first, promotion last; the sort is stable.
    changes.sort_by_key(|c| match (members[c.member].role, c.role) {
        (Some(Role::Primary), _) => 0,
        (_, Role::Backup) => 1,
        (_, Role::Primary) => 2,
    });
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ordinal: u32, ready: bool, role: Option<Role>) -> Member {
        Member {
            name: format!("mariadb-server-{ordinal}"),
            ready,
            terminating: false,
            role,
        }
    }

    fn chosen(members: &[Member]) -> Option<&str> {
        primary(members).map(|i| members[i].name.as_str())
    }

    /// Applies a plan the way the writer does, checking after every write that at most one
    /// pod carries the primary label.
    fn apply(members: &mut [Member]) {
        for change in plan(members) {
            members[change.member].role = Some(change.role);
            let primaries = members
                .iter()
                .filter(|m| m.role == Some(Role::Primary))
                .count();
            assert!(
                primaries <= 1,
                "two primaries after {change:?}: {members:?}"
            );
        }
    }

    #[test]
    fn with_no_primary_yet_the_lowest_ready_ordinal_is_chosen() {
        let members = [pod(2, true, None), pod(1, true, None), pod(0, false, None)];
        assert_eq!(chosen(&members), Some("mariadb-server-1"));
    }

    #[test]
    fn ordinals_compare_as_integers_not_text() {
        let members = [pod(10, true, None), pod(9, true, None)];
        assert_eq!(chosen(&members), Some("mariadb-server-9"));
    }

    #[test]
    fn a_ready_primary_keeps_the_label_even_when_a_lower_ordinal_is_ready() {
        let members = [
            pod(0, true, Some(Role::Backup)),
            pod(2, true, Some(Role::Primary)),
        ];
        assert_eq!(chosen(&members), Some("mariadb-server-2"));
        assert!(plan(&members).is_empty());
    }

    #[test]
    fn an_unready_primary_loses_the_label_to_the_lowest_ready_pod() {
        let mut members = [
            pod(0, false, Some(Role::Primary)),
            pod(1, true, Some(Role::Backup)),
            pod(2, true, Some(Role::Backup)),
        ];
        assert_eq!(chosen(&members), Some("mariadb-server-1"));
        assert_eq!(
            plan(&members),
            vec![
                Change {
                    member: 0,
                    role: Role::Backup
                },
                Change {
                    member: 1,
                    role: Role::Primary
                },
            ]
        );
        apply(&mut members);
    }

    #[test]
    fn a_terminating_primary_loses_the_label() {
        let mut members = [
            pod(0, true, Some(Role::Primary)),
            pod(1, true, Some(Role::Backup)),
        ];
        members[0].terminating = true;
        assert_eq!(chosen(&members), Some("mariadb-server-1"));
        apply(&mut members);
        assert_eq!(members[0].role, Some(Role::Backup));
    }

    #[test]
    fn a_terminating_ready_pod_is_never_chosen() {
        let mut members = [pod(0, true, None), pod(1, true, None)];
        members[0].terminating = true;
        assert_eq!(chosen(&members), Some("mariadb-server-1"));
    }

    #[test]
    fn with_no_ready_pod_there_is_no_primary_and_every_pod_is_backup() {
        let mut members = [pod(0, false, Some(Role::Primary)), pod(1, false, None)];
        assert_eq!(chosen(&members), None);
        apply(&mut members);
        assert!(members.iter().all(|m| m.role == Some(Role::Backup)));
    }

    #[test]
    fn a_gone_primary_is_replaced_by_the_lowest_ready_pod() {
        // mariadb-server-0 was primary and is deleted: it is no longer a member.
        let mut members = [
            pod(1, true, Some(Role::Backup)),
            pod(2, true, Some(Role::Backup)),
        ];
        apply(&mut members);
        assert_eq!(members[0].role, Some(Role::Primary));
    }

    #[test]
    fn new_pods_get_the_backup_label_before_the_promotion() {
        let members = [pod(0, true, None), pod(1, true, None), pod(2, true, None)];
        let roles: Vec<_> = plan(&members).iter().map(|c| (c.member, c.role)).collect();
        assert_eq!(
            roles,
            vec![(1, Role::Backup), (2, Role::Backup), (0, Role::Primary)]
        );
    }

    #[test]
    fn of_two_primaries_the_eligible_lowest_keeps_the_label_and_the_other_is_demoted_first() {
        let mut members = [
            pod(2, true, Some(Role::Primary)),
            pod(1, true, Some(Role::Primary)),
        ];
        assert_eq!(chosen(&members), Some("mariadb-server-1"));
        assert_eq!(
            plan(&members),
            vec![Change {
                member: 0,
                role: Role::Backup
            }]
        );
        members[0].role = Some(Role::Backup);
        assert!(plan(&members).is_empty());
    }

    #[test]
    fn a_pod_returning_ready_stays_backup_under_a_ready_primary() {
        let members = [
            pod(0, true, Some(Role::Backup)),
            pod(1, true, Some(Role::Primary)),
        ];
        assert!(plan(&members).is_empty());
    }

    #[test]
    fn a_foreign_label_value_counts_as_no_role() {
        assert_eq!(Role::from_word("leader"), None);
        assert_eq!(Role::from_word("primary"), Some(Role::Primary));
        assert_eq!(Role::from_word(Role::Backup.word()), Some(Role::Backup));
    }

    #[test]
    fn a_name_without_ordinal_sorts_after_every_numbered_pod() {
        let members = [
            Member {
                name: "mariadb-server-x".to_owned(),
                ready: true,
                terminating: false,
                role: None,
            },
            pod(5, true, None),
        ];
        assert_eq!(chosen(&members), Some("mariadb-server-5"));
    }

    #[test]
    fn no_sequence_of_readiness_changes_ever_shows_two_primaries() {
        // Every readiness/termination combination of three pods, applied in turn.
        let mut members = [pod(0, true, None), pod(1, true, None), pod(2, true, None)];
        apply(&mut members);
        for step in 0u32..64 {
            for (i, m) in members.iter_mut().enumerate() {
                m.ready = (step >> i) & 1 == 1;
                m.terminating = (step >> (i + 3)) & 1 == 1;
            }
            apply(&mut members);
            let primaries: Vec<_> = members
                .iter()
                .filter(|m| m.role == Some(Role::Primary))
                .collect();
            match primary(&members) {
                Some(i) => assert_eq!(primaries, vec![&members[i]]),
                None => assert!(primaries.is_empty()),
            }
        }
    }
}
