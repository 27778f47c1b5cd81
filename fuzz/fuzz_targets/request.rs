#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_warden_fuzz::request::run(data));
