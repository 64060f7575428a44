#![no_main]
//! Random and mutated bytes into the `Extrinsic` decoder under both chain specs: it must
//! return `Ok` or `Err`, never panic, and whatever it accepts must re-encode to the
//! exact input (the codec is canonical).

use libfuzzer_sys::fuzz_target;
use tessera_core::codec::{decode_exact, Encode};
use tessera_core::spec::ChainSpec;
use tessera_core::types::Extrinsic;

fuzz_target!(|data: &[u8]| {
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        if let Ok(value) = decode_exact::<Extrinsic>(&spec, data) {
            assert_eq!(value.encode(), data, "accepted input does not round-trip");
        }
    }
});
