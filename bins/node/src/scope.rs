//! Which Nodes this binary manages: all, or those matching `--node-selector`.
//!
//! The selector narrows the Node watch (server-side) and, for a lock whose Node is gone, is
//! matched here against the labels of the lock's original-node snapshot, so a binary never
//! deletes the lock of a node outside its scope. Only equality terms (`key=value`, comma
//! separated) are accepted: enough to name a node pool, and simple to match locally the same
//! way the API server does.

use std::collections::BTreeMap;

/// A parsed `--node-selector`; empty selects every Node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    terms: Vec<(String, String)>,
}

impl Scope {
    /// Parses `key=value[,key=value…]` (`==` also accepted); empty text selects everything.
    pub fn parse(text: &str) -> Result<Self, String> {
        let terms = text
            .split(',')
            .map(str::trim)
            .filter(|term| !term.is_empty())
            .map(|term| {
                let (key, value) = term
                    .split_once("==")
                    .or_else(|| term.split_once('='))
                    .ok_or_else(|| format!("node selector term {term:?} is not key=value"))?;
                let (key, value) = (key.trim(), value.trim());
                if key.is_empty() || key.ends_with('!') {
                    return Err(format!("node selector term {term:?} is not key=value"));
                }
                Ok((key.to_owned(), value.to_owned()))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { terms })
    }

    /// The selector for a watch, or `None` when every Node is selected.
    pub fn selector(&self) -> Option<String> {
        (!self.terms.is_empty()).then(|| {
            self.terms
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    /// Whether a node with `labels` is in scope.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.terms.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// Whether everything is in scope.
    pub fn is_all(&self) -> bool {
        self.terms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_selector_selects_every_node() {
        let scope = Scope::parse(" ").unwrap();
        assert!(scope.is_all());
        assert_eq!(scope.selector(), None);
        assert!(scope.matches(&BTreeMap::new()));
    }

    #[test]
    fn equality_terms_must_all_match() {
        let scope = Scope::parse("pool=os, zone==a").unwrap();
        assert_eq!(scope.selector().as_deref(), Some("pool=os,zone=a"));
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(scope.matches(&labels(&[("pool", "os"), ("zone", "a"), ("x", "y")])));
        assert!(!scope.matches(&labels(&[("pool", "os")])));
    }

    #[test]
    fn set_based_or_negated_terms_are_refused() {
        assert!(Scope::parse("pool in (a,b)").is_err());
        assert!(Scope::parse("pool!=a").is_err());
        assert!(Scope::parse("pool").is_err());
    }
}
