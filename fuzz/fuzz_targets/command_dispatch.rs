//! Fuzz target `command_dispatch`: see `corekv::fuzzing::command_dispatch` for the invariants it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    corekv::fuzzing::command_dispatch(data);
});
