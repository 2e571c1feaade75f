//! Range answers come from registries: a `Content-Range` header, a
//! `multipart/byteranges` content type and body. Parsing must fail cleanly,
//! every part it returns must lie inside the body it came from, and a body
//! parsed as it arrives, in pieces, must give the same parts as the whole.
#![no_main]
use bytes::Bytes;
use hoist_registry::ranges::{
    multipart_boundary, parse_content_range, parse_multipart, MultipartStream,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // First byte: where the body is cut in two when pushed in pieces.
    // Then a line: a header value (Content-Range or Content-Type). The
    // rest: the body.
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
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
    let whole = parse_multipart(&Bytes::copy_from_slice(body), &boundary);
    if let Ok(parts) = &whole {
        let total: usize = parts.iter().map(|(_, b)| b.len()).sum();
        assert!(total <= body.len(), "parts hold more bytes than the body");
    }
    let Ok(mut stream) = MultipartStream::new(&boundary) else {
        return;
    };
    let at = (cut as usize).min(body.len());
    let mut pieces = Vec::new();
    let pushed = body[..at]
        .chunks(7)
        .chain(std::iter::once(&body[at..]))
        .try_for_each(|slice| stream.push(slice).map(|p| pieces.extend(p)));
    let in_pieces = pushed.and_then(|()| stream.finish());
    match (&whole, in_pieces) {
        (Ok(parts), Ok(())) => {
            let joined: Vec<u8> = pieces.iter().flat_map(|(_, b)| b.to_vec()).collect();
            let expected: Vec<u8> = parts.iter().flat_map(|(_, b)| b.to_vec()).collect();
            assert_eq!(joined, expected, "the same bytes in pieces as whole");
        }
        (Err(_), Err(_)) => {}
        (whole, pieces) => panic!("whole: {whole:?}, in pieces: {pieces:?}"),
    }
});
