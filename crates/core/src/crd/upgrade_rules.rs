//! Which `spec.openstack_version` changes are upgrades the suite performs: one release
//! forward, or a SLURP jump (yoga → antelope → caracal → epoxy → gazpacho). Never a
//! downgrade, never `master`.
//!
//! The rule is stated once, here, and used twice: as a CEL transition rule on the CRD field
//! (the API server refuses the edit at `kubectl apply` time, naming the field and the allowed
//! next releases) and by osdpl's pre-flight check ([`is_allowed`]), for objects stored under
//! an older, looser CRD.

use kube::core::{Rule, cel::Message};

use super::osdpl::OpenStackVersion;
use OpenStackVersion::*;

/// Every release, oldest first (the enum's order).
pub const RELEASES: [OpenStackVersion; 18] = [
    Queens, Rocky, Stein, Train, Ussuri, Victoria, Wallaby, Xena, Yoga, Zed, Antelope, Bobcat,
    Caracal, Dalmatian, Epoxy, Flamingo, Gazpacho, Master,
];

/// Skip-level upgrade release pairs (SLURP): each may go straight to the next-but-one.
pub const SLURP: [(OpenStackVersion, OpenStackVersion); 4] = [
    (Yoga, Antelope),
    (Antelope, Caracal),
    (Caracal, Epoxy),
    (Epoxy, Gazpacho),
];

/// The releases `from` may be upgraded to, oldest first: the next one and, for a SLURP
/// release, the next SLURP one. `master` is no upgrade target.
pub fn allowed_next(from: OpenStackVersion) -> Vec<OpenStackVersion> {
    let next = RELEASES.get(from as usize + 1).copied();
    let slurp = SLURP.iter().find(|(a, _)| *a == from).map(|(_, b)| *b);
    next.into_iter()
        .chain(slurp)
        .filter(|v| *v != Master)
        .collect()
}

/// Whether an OSDPL at `from` may be changed to `to` (staying is always allowed).
pub fn is_allowed(from: OpenStackVersion, to: OpenStackVersion) -> bool {
    from == to || allowed_next(from).contains(&to)
}

/// Why `from` → `to` is refused, naming the field and the allowed next releases; `None` when
/// it is allowed.
pub fn refusal(from: OpenStackVersion, to: OpenStackVersion) -> Option<String> {
    if is_allowed(from, to) {
        return None;
    }
    let kind = if to < from {
        "a downgrade"
    } else {
        "not a supported upgrade"
    };
    Some(format!(
        "spec.openstack_version: {} → {} is {kind}; {}",
        from.as_str(),
        to.as_str(),
        next_words(from)
    ))
}

/// "from X the allowed next releases are: …", the end of every refusal.
fn next_words(from: OpenStackVersion) -> String {
    let next: Vec<&str> = allowed_next(from).iter().map(|v| v.as_str()).collect();
    if next.is_empty() {
        format!("no upgrade from {} is supported", from.as_str())
    } else {
        format!(
            "from {} the allowed next releases are: {}",
            from.as_str(),
            next.join(", ")
        )
    }
}

/// The CEL transition rule of `spec.openstack_version`: the new value is the old one or one
/// of its [`allowed_next`]; the message names the field, the change and the allowed next
/// releases.
pub fn transition_rule() -> Rule {
    let allowed = cel_map(|v| {
        let next: Vec<String> = allowed_next(v)
            .iter()
            .map(|n| format!("'{}'", n.as_str()))
            .collect();
        format!("[{}]", next.join(", "))
    });
    let order = cel_map(|v| (v as usize).to_string());
    let words = cel_map(|v| format!("'{}'", next_words(v)));
    Rule::new(format!(
        "self == oldSelf || (oldSelf in {allowed} && self in {allowed}[oldSelf])"
    ))
    .message(Message::Expression(format!(
        "'spec.openstack_version: ' + oldSelf + ' → ' + self + ' is ' + \
         ({order}[self] < {order}[oldSelf] ? 'a downgrade' : 'not a supported upgrade') + \
         '; ' + {words}[oldSelf]"
    )))
}

/// A CEL map literal from every release name to `value(release)`.
fn cel_map(value: impl Fn(OpenStackVersion) -> String) -> String {
    let entries: Vec<String> = RELEASES
        .iter()
        .map(|v| format!("'{}': {}", v.as_str(), value(*v)))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_listed_in_the_enum_order() {
        for (index, release) in RELEASES.iter().enumerate() {
            assert_eq!(*release as usize, index, "{}", release.as_str());
        }
    }

    #[test]
    fn one_release_forward_and_slurp_jumps_are_allowed() {
        assert!(is_allowed(Caracal, Dalmatian));
        assert!(is_allowed(Caracal, Epoxy));
        assert!(is_allowed(Epoxy, Flamingo));
        assert!(is_allowed(Epoxy, Gazpacho));
        assert!(is_allowed(Flamingo, Gazpacho));
        assert!(is_allowed(Yoga, Antelope));
        assert!(is_allowed(Gazpacho, Gazpacho));
    }

    #[test]
    fn downgrades_other_skips_and_master_are_refused() {
        assert!(!is_allowed(Epoxy, Caracal));
        assert!(!is_allowed(Caracal, Flamingo));
        assert!(!is_allowed(Flamingo, Master));
        assert!(!is_allowed(Gazpacho, Master));
        assert!(!is_allowed(Zed, Bobcat));
        assert!(!is_allowed(Master, Caracal));
    }

    #[test]
    fn a_refusal_names_the_field_the_kind_and_the_allowed_next_releases() {
        let downgrade = refusal(Epoxy, Caracal).unwrap_or_default();
        assert_eq!(
            downgrade,
            "spec.openstack_version: epoxy → caracal is a downgrade; from epoxy the allowed \
             next releases are: flamingo, gazpacho"
        );
        let skip = refusal(Caracal, Flamingo).unwrap_or_default();
        assert!(skip.contains("not a supported upgrade"), "{skip}");
        assert!(skip.ends_with("dalmatian, epoxy"), "{skip}");
        assert!(refusal(Caracal, Epoxy).is_none());
        let last = refusal(Gazpacho, Master).unwrap_or_default();
        assert!(
            last.ends_with("no upgrade from gazpacho is supported"),
            "{last}"
        );
    }

    #[test]
    fn the_cel_rule_lists_each_release_with_its_allowed_next_ones() {
        let rule = transition_rule();
        assert!(rule.rule.starts_with("self == oldSelf || "));
        assert!(
            rule.rule.contains("'caracal': ['dalmatian', 'epoxy']"),
            "{}",
            rule.rule
        );
        assert!(rule.rule.contains("'gazpacho': []"), "{}", rule.rule);
        match rule.message {
            Some(Message::Expression(text)) => {
                assert!(text.contains("'spec.openstack_version: '"), "{text}");
                assert!(text.contains("'epoxy': 14"), "{text}");
            }
            other => panic!("no message expression: {other:?}"),
        }
    }
}
