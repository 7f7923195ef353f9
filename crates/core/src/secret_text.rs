//! A Secret's data as text: what `value_from` references, Ceph's keys and the certificates the
//! templates read. Values that are not UTF-8 are left out, so a reference to one reads as
//! missing (and is reported so) rather than as garbled text.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

/// The text values of `secret` (`data`, then `stringData` of an object not yet stored).
pub fn decoded(secret: &Secret) -> BTreeMap<String, String> {
    let data = secret.data.iter().flatten();
    let text = data.filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)));
    let string_data = secret.string_data.iter().flatten();
    text.chain(string_data.map(|(k, v)| (k.clone(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    #[test]
    fn non_utf8_values_are_left_out_and_text_kept() {
        let secret = Secret {
            data: Some(BTreeMap::from([
                ("ok".to_owned(), ByteString(b"text".to_vec())),
                ("bad".to_owned(), ByteString(vec![0xff, 0xfe])),
            ])),
            ..Secret::default()
        };
        let text = decoded(&secret);
        assert_eq!(text.get("ok").map(String::as_str), Some("text"));
        assert!(!text.contains_key("bad"));
    }
}
