//! Ghost's members CSV.
#![no_main]
use libfuzzer_sys::fuzz_target;
use masthead::imports::members;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = members::parse_ghost_csv(&text, &[1, 2]);
});
