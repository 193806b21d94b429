//! A Substack export zip: the archive, its member lists and post bodies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use masthead::content::markdown;
use masthead::imports::{ghost_body, substack};

fuzz_target!(|data: &[u8]| {
    if let Ok(archive) = substack::read_from(std::io::Cursor::new(data)) {
        let _ = substack::members(&archive.lists, &[1]);
        for html in archive.bodies.values() {
            if markdown::nesting_depth(html) > markdown::MAX_NESTING {
                continue;
            }
            let _ = ghost_body::convert(&substack::mark_paywall(html));
        }
    }
});
