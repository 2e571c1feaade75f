//! A signature's payload is the signer's bytes (checked only after gpg
//! accepted the signature); policy.json and registries.d are files an
//! administrator may get wrong. None of them may crash a pull.
#![no_main]
use std::path::Path;

use hoist_image::{Digest, Reference};
use hoist_sign::policy::Policy;
use hoist_sign::{Lookaside, Payload};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => payload(rest),
        1 => policy(rest),
        _ => registries_d(rest),
    }
});

fn payload(data: &[u8]) {
    if let Ok(p) = Payload::parse(data) {
        // What parses writes back to a payload that parses the same.
        assert_eq!(Payload::parse(&p.to_json()).unwrap(), p);
    }
}

fn policy(data: &[u8]) {
    // Key paths resolve under an empty directory: nothing there to read.
    let Ok(p) = Policy::parse(data, Path::new("/nonexistent")) else {
        return;
    };
    for name in [
        "quay.io/ns/app:1",
        "docker.io/library/busybox:latest",
        "a.b.example.com:5000/x",
    ] {
        let r = Reference::parse(name).unwrap();
        let _ = p.docker_requirements(&r);
        let _ = p.docker_requirements(&r.with_digest(Digest::sha256_of(data)));
    }
}

fn registries_d(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut l = Lookaside::default();
    if l.merge(Path::new("fuzz.yaml"), text).is_ok() {
        let r = Reference::parse("reg.example/ns/app:1").unwrap();
        let _ = l.staging_dir(&r);
        let _ = l.read_base(&r);
    }
}
