//! The Content API's filter language: parsed, then compiled for every
//! resource (bounded in length, nesting, tests and list size).
#![no_main]
use libfuzzer_sys::fuzz_target;
use masthead_core::access::Policy;
use masthead_core::api::nql;
use masthead_store::api::{compile_filter, Kind};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(e) = nql::parse(&text) {
        for kind in [Kind::Post, Kind::Page, Kind::Tag, Kind::Author] {
            let _ = compile_filter(kind, &e, &Policy::default(), 1_700_000_000, 4);
        }
    }
});
