//! A WordPress export (WXR): both passes over any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use masthead::imports::wxr;

fuzz_target!(|data: &[u8]| {
    let _ = wxr::attachments_and_channel(data);
    let _ = wxr::scan(data, |_| true);
});
