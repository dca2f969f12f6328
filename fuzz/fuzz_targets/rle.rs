#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clipseg_fuzz::rle(data));
