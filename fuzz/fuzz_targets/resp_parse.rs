//! Fuzz target `resp_parse`: see `corekv::fuzzing::resp_parse` for the invariants it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    corekv::fuzzing::resp_parse(data);
});
