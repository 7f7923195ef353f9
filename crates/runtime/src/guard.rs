//! Decoding each watched object on its own, so one object the types cannot read never
//! blinds a watch: [`Guarded`] is the object kind a controller or mirror watches
//! (`Api<Guarded<OpenStackDeployment>>`); it holds the object, or why it cannot be read with
//! its metadata, and the reconcile reports that on the object by name.
//!
//! Why not kube's `DeserializeGuard`: it buffers the object into a tree first, which the
//! JSON decoder refuses past 128 levels of nesting, so an object nested that deep (values
//! under `spec.services.*.values`, which the API server accepts) failed the whole list and
//! every watch event: the controller skipped it silently, its readiness never opened after a
//! restart, and kube's client logged the whole response on each retry. Here the object's
//! text is taken as it is (`RawValue`, which the decoder scans without recursion), its depth
//! is measured ([`crate::depth`]) and only then decoded.
//!
//! `metadata.managedFields` are dropped on decoding: they mirror the shape of everything a
//! manager wrote, so they are as deep as the spec, and nothing of the suite reads them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::error_boundary::InvalidObject;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// Levels of nesting an object may have (its root is level 1); deeper ones are unreadable,
/// named by the path of the deepest branch. Below the decoder's own limit (128), with room
/// for what the charts nest inside `values`.
pub const MAX_DEPTH: usize = 100;

/// A watched object, or why it cannot be read (with its metadata, so it can be named, its
/// events and status written, its finalizers kept).
#[derive(Debug, Clone)]
pub struct Guarded<K>(pub Result<K, InvalidObject>);

/// An object's members, each kept as its text.
type Members = BTreeMap<String, Box<RawValue>>;

impl<K: DeserializeOwned> Guarded<K> {
    /// Decodes one object from its JSON text. Fails only when the text is not a JSON object
    /// at all (which the API server never sends).
    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        let mut object: Members = serde_json::from_str(text)?;
        let metadata = match object.get("metadata") {
            Some(raw) => {
                let mut members: Members = serde_json::from_str(raw.get())?;
                members.remove("managedFields");
                let text = serde_json::to_string(&members)?;
                object.insert("metadata".to_owned(), RawValue::from_string(text)?);
                Some(members)
            }
            None => None,
        };
        let meta = || -> ObjectMeta {
            let text = serde_json::to_string(&metadata).unwrap_or_default();
            serde_json::from_str::<Option<ObjectMeta>>(&text)
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        let invalid = |error: String| {
            Guarded(Err(InvalidObject {
                error,
                metadata: meta(),
            }))
        };
        let text = serde_json::to_string(&object)?;
        if let Some(path) = crate::depth::too_deep(&text, MAX_DEPTH) {
            return Ok(invalid(format!(
                "{path}: nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(match serde_json::from_str::<K>(&text) {
            Ok(object) => Guarded(Ok(object)),
            Err(error) => invalid(error.to_string()),
        })
    }
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Guarded<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Self::decode(raw.get()).map_err(serde::de::Error::custom)
    }
}

impl<K: Resource> Resource for Guarded<K> {
    type DynamicType = K::DynamicType;
    type Scope = K::Scope;

    fn kind(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        match &self.0 {
            Ok(object) => object.meta(),
            Err(invalid) => &invalid.metadata,
        }
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match &mut self.0 {
            Ok(object) => object.meta_mut(),
            Err(invalid) => &mut invalid.metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::core::ObjectList;

    /// A ConfigMap-shaped object whose `data` nests `levels` objects, with managed fields
    /// as deep as that.
    fn object(name: &str, levels: usize) -> String {
        let mut inner = "\"v\"".to_owned();
        for _ in 0..levels {
            inner = format!("{{\"a\":{inner}}}");
        }
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"ns","generation":3,
            "managedFields":[{{"manager":"kubectl","fieldsV1":{{"f:data":{inner}}}}}]}},"data":{inner}}}"#
        )
    }

    #[test]
    fn an_object_nested_too_deep_is_unreadable_by_the_path_of_its_deepest_branch() {
        let guarded = Guarded::<ConfigMap>::decode(&object("deep", 130)).unwrap();
        let invalid = guarded.0.unwrap_err();
        assert!(
            invalid.error.starts_with("data.a.a.a")
                && invalid.error.contains("nested deeper than 100 levels"),
            "{}",
            invalid.error
        );
        assert_eq!(invalid.metadata.name.as_deref(), Some("deep"));
        assert_eq!(invalid.metadata.generation, Some(3));
    }

    #[test]
    fn a_list_with_one_object_too_deep_still_decodes_every_other_object() {
        let list = format!(
            r#"{{"apiVersion":"v1","kind":"List","metadata":{{"resourceVersion":"7"}},"items":[{},{}]}}"#,
            object("deep", 300),
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"good"},"data":{"k":"v"}}"#,
        );
        let list: ObjectList<Guarded<ConfigMap>> = serde_json::from_str(&list).unwrap();
        assert_eq!(list.items.len(), 2);
        assert!(list.items[0].0.is_err());
        assert_eq!(list.items[0].meta().name.as_deref(), Some("deep"));
        let good = list.items[1].0.as_ref().unwrap();
        assert_eq!(good.data.as_ref().unwrap()["k"], "v");
    }

    #[test]
    fn an_object_of_the_wrong_shape_is_unreadable_with_the_decoders_reason() {
        let text =
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"odd"},"data":{"k":5}}"#;
        let invalid = Guarded::<ConfigMap>::decode(text).unwrap().0.unwrap_err();
        assert!(invalid.error.contains("invalid type"), "{}", invalid.error);
        assert_eq!(invalid.metadata.name.as_deref(), Some("odd"));
    }

    #[test]
    fn a_readable_object_decodes_without_its_managed_fields() {
        let guarded = Guarded::<ConfigMap>::decode(&object("fine", 1)).unwrap();
        let map = guarded.0.unwrap();
        assert_eq!(map.data.unwrap()["a"], "v", "data as sent");
        assert_eq!(map.metadata.managed_fields, None);
        assert_eq!(map.metadata.name.as_deref(), Some("fine"));
    }
}
