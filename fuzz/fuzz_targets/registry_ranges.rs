//! Range answers come from registries: a `Content-Range` header, a
//! `multipart/byteranges` content type and body. Parsing must fail cleanly,
//! and every part it returns must lie inside the body it came from.
#![no_main]
use bytes::Bytes;
use hoist_registry::ranges::{cut, multipart_boundary, parse_content_range, parse_multipart};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // First line: a header value (Content-Range or Content-Type); the rest: the body.
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    if let Some(r) = parse_content_range(head) {
        assert!(r.start < r.end, "a parsed range is never empty: {r:?}");
    }
    let boundary = multipart_boundary(head).unwrap_or_else(|| head.to_string());
    let body = Bytes::copy_from_slice(body);
    if let Ok(parts) = parse_multipart(&body, &boundary) {
        let total: usize = parts.iter().map(|(_, b)| b.len()).sum();
        assert!(total <= body.len(), "parts hold more bytes than the body");
        for (start, bytes) in &parts {
            let end = start + bytes.len() as u64;
            let got = cut(&parts, &(*start..end)).expect("a whole part cuts from itself");
            assert_eq!(got.len(), bytes.len());
        }
    }
});
