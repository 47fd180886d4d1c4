//! Fuzz target `resp_roundtrip`: see `corekv::fuzzing::resp_roundtrip` for the invariants it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    corekv::fuzzing::resp_roundtrip(data);
});
