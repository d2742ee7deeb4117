//! `Request::from_json` on arbitrary text: it never panics, its errors are one line, and a
//! request it accepts survives serialising and parsing again unchanged.

#![no_main]

use lampart::request::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let request = match Request::from_json(text) {
        Ok(request) => request,
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "error spans lines: {message:?}");
            return;
        }
    };
    let written = serde_json::to_string(&request).expect("an accepted request serialises");
    let again = Request::from_json(&written)
        .unwrap_or_else(|e| panic!("serialised request `{written}` is refused: {e}"));
    assert_eq!(
        request, again,
        "round trip through `{written}` changed the request"
    );
    // Writing is deterministic: the reparsed request serialises to the same text.
    let rewritten = serde_json::to_string(&again).unwrap();
    assert_eq!(written, rewritten);
});
