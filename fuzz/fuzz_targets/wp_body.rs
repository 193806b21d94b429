//! A WordPress post body: autop, block comments, shortcodes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use masthead::content::markdown;
use masthead::imports::wp_body;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The import refuses deeper bodies before converting them.
    if markdown::nesting_depth(&text) > markdown::MAX_NESTING {
        return;
    }
    let attachment = |id: &str| (id == "7").then(|| ("/a.png".to_string(), "alt".to_string()));
    let _ = wp_body::convert(&text, &attachment);
});
