#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsre_fuzz::avro_event(data));
