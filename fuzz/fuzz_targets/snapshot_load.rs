//! Fuzz target `snapshot_load`: see `corekv::fuzzing::snapshot_load` for the invariants it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    corekv::fuzzing::snapshot_load(data);
});
