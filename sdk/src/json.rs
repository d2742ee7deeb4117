//! JSON pointers (RFC 6901) and walking JSON values.

use serde_json::Value;

/// Escapes one reference token for use in a JSON pointer (`~` → `~0`, `/` → `~1`).
///
/// ```
/// assert_eq!(lampart_sdk::json::escape_token("a/b~c"), "a~1b~0c");
/// ```
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Appends one reference token to a pointer: `push_token("/a", "b/c")` is `/a/b~1c`.
pub fn push_token(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    out.push_str(&escape_token(token));
    out
}

/// Whether `pointer` is a syntactically valid JSON pointer: empty (the whole document),
/// or `/`-separated tokens in which every `~` is followed by `0` or `1`.
///
/// ```
/// use lampart_sdk::json::is_pointer;
/// assert!(is_pointer(""));
/// assert!(is_pointer("/cmd"));
/// assert!(is_pointer("/a~1b/0"));
/// assert!(!is_pointer("cmd"));
/// assert!(!is_pointer("/a~2"));
/// ```
pub fn is_pointer(pointer: &str) -> bool {
    if pointer.is_empty() {
        return true;
    }
    if !pointer.starts_with('/') {
        return false;
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

/// The value at JSON pointer `pointer` in `value`, where a token of digits only indexes
/// an array and never names an object member.
///
/// RFC 6901 lets `/recipients/0` name the member `"0"` of an object as well as the first
/// item of an array. For a policy that is a hole: a caller could send
/// `{"recipients": {"0": "trusted@corp", "x": "attacker@evil"}}` to make an object pass
/// a rule written for the first element of a list. Here such a token on an object finds
/// nothing (the value is absent), as does an invalid pointer.
///
/// ```
/// use serde_json::json;
/// use lampart_sdk::json::lookup;
/// let list = json!({"recipients": ["trusted@corp"]});
/// assert_eq!(lookup(&list, "/recipients/0"), Some(&json!("trusted@corp")));
/// let object = json!({"recipients": {"0": "trusted@corp", "x": "attacker@evil"}});
/// assert_eq!(lookup(&object, "/recipients/0"), None);
/// assert_eq!(lookup(&object, "/recipients/x"), Some(&json!("attacker@evil")));
/// ```
pub fn lookup<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    if !is_pointer(pointer) {
        return None;
    }
    let mut current = value;
    for token in pointer[1..].split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        let is_index = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
        current = match current {
            Value::Array(items) if is_index && (token == "0" || !token.starts_with('0')) => {
                items.get(token.parse::<usize>().ok()?)?
            }
            Value::Object(members) if !is_index => members.get(&token)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Iterates over every string in a JSON value, depth first, with the JSON pointer of
/// each (relative to `value`; a root string's pointer is `""`).
///
/// Array items come in order; object members come in the order `serde_json` keeps
/// them (sorted by key, as this workspace does not enable `preserve_order`). Object
/// keys themselves are not visited, only values.
///
/// ```
/// use serde_json::json;
/// let v = json!({"cmd": "ls", "env": {"a/b": "x"}, "argv": ["rm", 1]});
/// let all: Vec<_> = lampart_sdk::json::strings(&v).collect();
/// assert!(all.contains(&("/cmd".to_string(), "ls")));
/// assert!(all.contains(&("/env/a~1b".to_string(), "x")));
/// assert!(all.contains(&("/argv/0".to_string(), "rm")));
/// assert_eq!(all.len(), 3);
/// ```
pub fn strings(value: &Value) -> Strings<'_> {
    Strings {
        stack: vec![(String::new(), value)],
    }
}

/// The iterator returned by [`strings`].
#[derive(Debug, Clone)]
pub struct Strings<'a> {
    stack: Vec<(String, &'a Value)>,
}

impl<'a> Iterator for Strings<'a> {
    type Item = (String, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some((pointer, value)) = self.stack.pop() {
            match value {
                Value::String(s) => return Some((pointer, s.as_str())),
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate().rev() {
                        self.stack.push((format!("{pointer}/{i}"), item));
                    }
                }
                Value::Object(map) => {
                    // Push in reverse so that the first key is visited first.
                    let children: Vec<_> = map.iter().collect();
                    for (key, item) in children.into_iter().rev() {
                        self.stack.push((push_token(&pointer, key), item));
                    }
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_come_depth_first() {
        let v = json!({"a": "1", "b": ["2", {"c": "3"}], "d": 4, "e": null});
        let all: Vec<_> = strings(&v).collect();
        assert_eq!(
            all,
            vec![
                ("/a".to_string(), "1"),
                ("/b/0".to_string(), "2"),
                ("/b/1/c".to_string(), "3"),
            ]
        );
        for (p, s) in &all {
            assert_eq!(v.pointer(p).and_then(Value::as_str), Some(*s));
        }
    }

    #[test]
    fn root_string_and_escaping() {
        let v = json!("plain");
        assert_eq!(
            strings(&v).collect::<Vec<_>>(),
            vec![(String::new(), "plain")]
        );
        let v = json!({"~/": "x"});
        let (p, _) = strings(&v).next().unwrap();
        assert_eq!(p, "/~0~1");
        assert_eq!(v.pointer(&p), Some(&json!("x")));
    }

    #[test]
    fn pointer_syntax() {
        assert!(is_pointer("/"));
        assert!(is_pointer("/a/~0"));
        assert!(!is_pointer("/a/~"));
        assert!(!is_pointer("not-a-pointer"));
    }
}
