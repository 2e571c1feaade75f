//! Kubernetes YAML is what `kube play` reads from users and the web: the
//! parsers (strict, and the lenient one `kube play` uses) must fail cleanly
//! on any bytes, and whatever it accepts must
//! write back (as `kube generate` writes) to YAML that parses to the same
//! objects.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `kube play` reads leniently (other kinds left out): it must fail
    // cleanly too, and agree with the strict parser where that accepts.
    let lenient = hoist_kube::parse_lenient(text);
    let Ok(docs) = hoist_kube::parse(text) else {
        return;
    };
    let lenient = lenient.expect("what parses strictly parses leniently");
    assert!(lenient.skipped.is_empty());
    assert_eq!(lenient.documents, docs);
    for doc in docs {
        let yaml = doc.to_yaml().expect("a parsed document writes back");
        let again = hoist_kube::parse(&yaml)
            .unwrap_or_else(|e| panic!("written YAML parses back: {e}\n{yaml}"));
        assert_eq!(again.len(), 1, "{yaml}");
        assert_eq!(again[0], doc, "round trip of\n{yaml}");
    }
});
