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

/// Hex HMAC-SHA256 (RFC 2104) of the canonical JSON form of `value` under `key`: a
/// fingerprint that only holders of the key can compute, so publishing it (the watched
/// Secrets' hashes in an OSDPL's status) does not let readers test guesses of the content.
pub fn keyed_fingerprint(key: &[u8], value: &Value) -> String {
    let mut canonical = Vec::with_capacity(4096);
    write_canonical(value, &mut canonical);
    hex(&hmac_sha256(key, &canonical))
}

/// HMAC-SHA256 of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
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
    fn hmac_matches_the_rfc_4231_test_vectors() {
        // Test case 2 (a short key) and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_keyed_fingerprint_depends_on_the_key_and_not_on_key_order() {
        let (a, b) = (json!({"x": 1, "y": "p"}), json!({"y": "p", "x": 1}));
        assert_eq!(keyed_fingerprint(b"k1", &a), keyed_fingerprint(b"k1", &b));
        assert_ne!(keyed_fingerprint(b"k1", &a), keyed_fingerprint(b"k2", &a));
        assert_ne!(keyed_fingerprint(b"k1", &a), fingerprint(&a));
    }

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
