//! Stable fingerprints of JSON values: the same content gives the same hash, whatever the key
//! order it was built or parsed in, on every run and every machine.
//!
//! Used for the merged spec (`status.fingerprint`) and per release values (to skip unchanged
//! Helm upgrades). The canonical form is compact JSON with object keys sorted by byte order.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of the canonical JSON form of `value`.
pub fn fingerprint(value: &Value) -> String {
    let mut canonical = Vec::with_capacity(4096);
    write_canonical(value, &mut canonical);
    hex(&Sha256::digest(&canonical))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compact JSON with object keys sorted, whatever order the map keeps them in.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, child)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Writing into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, key.as_str());
                out.push(b':');
                write_canonical(child, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing a scalar into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_fingerprint() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": null, "y": [1, 2]}, "b": 1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn list_order_and_values_do_change_it() {
        assert_ne!(fingerprint(&json!([1, 2])), fingerprint(&json!([2, 1])));
        assert_ne!(fingerprint(&json!({"a": 1})), fingerprint(&json!({"a": 2})));
        assert_ne!(
            fingerprint(&json!({"a": "1"})),
            fingerprint(&json!({"a": 1}))
        );
    }

    #[test]
    fn the_fingerprint_is_the_sha256_of_sorted_compact_json() {
        // Pinned: the same as Python's sha256(json.dumps(v, sort_keys=True, separators=(",", ":"))).
        // A change here would change every deployed fingerprint.
        assert_eq!(
            fingerprint(&json!({"size": "small", "openstack_version": "epoxy"})),
            "8a72fae7b92996a5f5a27412a9e75f53b0dd402f2021c9408e5326eb9440e341"
        );
    }
}
