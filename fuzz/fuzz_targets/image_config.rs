//! Image configs come from registries and archives; `run` parses them into
//! the typed config (oci-spec's `ImageConfiguration`) and pull reads their
//! diff IDs as digests. Both must fail cleanly on any bytes.
#![no_main]
use hoist_image::Digest;
use oci_spec::image::ImageConfiguration;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(config) = serde_json::from_slice::<ImageConfiguration>(data) {
        // What run reads from it: must not panic on any value that parsed.
        let _ = config.config().as_ref().map(|c| {
            (
                c.entrypoint().clone(),
                c.cmd().clone(),
                c.env().clone(),
                c.user().clone(),
            )
        });
        let again = serde_json::to_vec(&config).expect("a parsed config serializes");
        let _ = serde_json::from_slice::<ImageConfiguration>(&again)
            .expect("a serialized config parses back");
    }
    #[derive(serde::Deserialize)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<Digest>,
    }
    if let Ok(r) = serde_json::from_slice::<RootFs>(data) {
        for d in r.diff_ids {
            let text = d.to_string();
            assert_eq!(
                text.parse::<Digest>().ok().as_ref(),
                Some(&d),
                "digest round trip"
            );
        }
    }
});
