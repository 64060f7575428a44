//! `tessera key`: a validator's public keys and network name from its JIP-5 seed.

use anyhow::{bail, Context as _};
use clap::Args;
use tessera_core::crypto::jip5::{trivial_seed, ValidatorSecrets};

/// Arguments of `tessera key`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true))]
pub struct KeyArgs {
    /// Development validator `I`: the JIP-5 trivial seed `LE32(I)` repeated eight times.
    #[arg(long, value_name = "I", group = "source")]
    pub dev: Option<u32>,
    /// A 32-octet seed in hex (with or without `0x`).
    #[arg(long, value_name = "HEX", group = "source")]
    pub seed: Option<String>,
    /// Print JSON instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// The seed the arguments name.
pub fn seed_of(dev: Option<u32>, seed: Option<&str>) -> anyhow::Result<[u8; 32]> {
    match (dev, seed) {
        (Some(i), _) => Ok(trivial_seed(i)),
        (None, Some(hex_seed)) => {
            let bytes =
                hex::decode(hex_seed.trim_start_matches("0x")).context("seed is not hex")?;
            match <[u8; 32]>::try_from(bytes.as_slice()) {
                Ok(s) => Ok(s),
                Err(_) => bail!("a seed is 32 octets, got {}", bytes.len()),
            }
        }
        (None, None) => bail!("give --dev I or --seed HEX"),
    }
}

/// Print the keys of the seed `args` names.
pub fn run(args: &KeyArgs) -> anyhow::Result<()> {
    let seed = seed_of(args.dev, args.seed.as_deref())?;
    let keys = ValidatorSecrets::from_seed(&seed);
    let ed = keys.ed25519.public();
    let bs = keys.bandersnatch.public();
    let name = tessera_net::alt_name(&ed);
    if args.json {
        let v = serde_json::json!({
            "seed": format!("0x{}", hex::encode(seed)),
            "ed25519": format!("0x{}", hex::encode(ed.0 .0)),
            "bandersnatch": format!("0x{}", hex::encode(bs.0)),
            "alt_name": name,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("seed:         0x{}", hex::encode(seed));
        println!("ed25519:      0x{}", hex::encode(ed.0 .0));
        println!("bandersnatch: 0x{}", hex::encode(bs.0));
        println!("alt name:     {name}");
    }
    Ok(())
}
