//! The file images of a checkpoint archive (`files.img`, `fdinfo-N.img`)
//! are untrusted: `checkpoint inspect --files --sockets` must take any
//! bytes. The input is split in two at its first byte's share.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let at = rest.len() * usize::from(cut) / 255;
    let (files, fdinfo) = rest.split_at(at);
    let _ = hoist_checkpoint::decode_descriptors(files, fdinfo);
});
