//! How deep a JSON document nests, found without recursion: the guard ([`crate::guard`])
//! asks it before decoding a watched object, so an object nested beyond what the decoder
//! takes is reported by the path of its deepest branch instead of failing somewhere inside
//! `serde_json` (whose limit of 128 levels turns a whole list into an error).
//!
//! A linear scan over the bytes with a stack of the open containers; it never builds the
//! values and never fails: malformed JSON is the decoder's to report.

/// Where the scan is inside one open container.
enum Frame {
    /// In an object: the key of the current member, once read.
    Object(Option<String>),
    /// In an array: the index of the current element.
    Array(usize),
}

/// Path segments shown before the rest is elided.
const SHOWN: usize = 10;

/// The path (`spec.services.identity.keystone.values.a.b…`) of the first container that
/// opens at more than `limit` levels (the document's root container is level 1), if any.
pub fn too_deep(json: &str, limit: usize) -> Option<String> {
    let bytes = json.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    // In an object, the next string is a key (after `{` or `,`) rather than a value.
    let mut awaiting_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i + 1);
                if awaiting_key && let Some(Frame::Object(key)) = stack.last_mut() {
                    *key = Some(json.get(i + 1..end).unwrap_or_default().to_owned());
                    awaiting_key = false;
                }
                i = end;
            }
            open @ (b'{' | b'[') => {
                if stack.len() >= limit {
                    return Some(path(&stack));
                }
                stack.push(if open == b'{' {
                    Frame::Object(None)
                } else {
                    Frame::Array(0)
                });
                awaiting_key = open == b'{';
            }
            b'}' | b']' => {
                stack.pop();
                awaiting_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(index)) => *index += 1,
                Some(Frame::Object(_)) => awaiting_key = true,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the closing quote of the string whose contents start at `start` (the end of
/// the input when unterminated).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The dotted path of the open containers, elided after [`SHOWN`] segments.
fn path(stack: &[Frame]) -> String {
    let segment = |frame: &Frame| match frame {
        Frame::Object(key) => key.clone().unwrap_or_default(),
        Frame::Array(index) => format!("[{index}]"),
    };
    let mut shown: Vec<String> = stack.iter().take(SHOWN).map(segment).collect();
    if stack.len() > SHOWN {
        shown.push(format!("…({} more levels)", stack.len() - SHOWN));
    }
    shown.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{"spec":{"values":{"a":{"a":…}}}}` with `levels` objects under `values`.
    fn nested(levels: usize) -> String {
        let mut inner = "1".to_owned();
        for _ in 0..levels {
            inner = format!("{{\"a\":{inner}}}");
        }
        format!("{{\"kind\":\"X\",\"spec\":{{\"name\":\"s,{{\\\"\",\"values\":{inner}}}}}")
    }

    #[test]
    fn a_document_within_the_limit_passes() {
        assert_eq!(too_deep(&nested(10), 12), None);
        assert_eq!(too_deep("[1, [2, {\"x\": []}]]", 4), None);
        assert!(too_deep("[1, [2, {\"x\": []}]]", 3).is_some());
        assert_eq!(too_deep("", 1), None);
    }

    #[test]
    fn a_document_beyond_the_limit_is_named_by_the_path_of_its_deepest_branch() {
        // Root, spec, values: three levels before the nesting.
        assert_eq!(too_deep(&nested(3), 4).as_deref(), Some("spec.values.a.a"));
        assert_eq!(too_deep(&nested(3), 5), None);
    }

    #[test]
    fn keys_and_brackets_inside_strings_are_not_structure() {
        let json = r#"{"a{": "}}]]", "b": {"c\"{": ["{", {"d": 1}]}}"#;
        assert_eq!(too_deep(json, 3).as_deref(), Some("b.c\\\"{.[1]"));
        assert_eq!(too_deep(json, 4), None);
    }

    #[test]
    fn array_elements_are_named_by_index() {
        assert_eq!(too_deep("[0, 1, [[2]]]", 2).as_deref(), Some("[2].[0]"));
    }

    #[test]
    fn a_very_deep_path_is_elided_and_the_scan_does_not_recurse() {
        let path = too_deep(&nested(100_000), 100).unwrap_or_default();
        assert!(path.starts_with("spec.values.a.a"), "{path}");
        assert!(path.ends_with("…(90 more levels)"), "{path}");
    }
}
