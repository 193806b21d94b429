//! A Ghost JSON export, and every post body in it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use masthead::imports::ghost;

fuzz_target!(|data: &[u8]| {
    let _ = ghost::check(data);
});
