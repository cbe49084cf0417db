#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsre_fuzz::json_event(data));
