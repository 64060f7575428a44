//! `tessera codec decode|encode|types`: the tool to reach for when a binary vector
//! or block disagrees with what you expected.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::Context as _;
use tessera_core::spec::ChainSpec;
use tessera_core::types::named::NamedType;

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("cannot read standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Decode `file` as a `ty` and print it as pretty JSON on standard output.
pub fn decode(spec: &ChainSpec, ty: NamedType, file: &Path) -> anyhow::Result<()> {
    let bytes = read_input(file)?;
    let json = ty.decode_to_json(spec, &bytes).with_context(|| {
        format!(
            "{}: not a valid {} ({} octets, {} spec)",
            file.display(),
            ty.name(),
            bytes.len(),
            spec.name
        )
    })?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &json)?;
    writeln!(out)?;
    Ok(())
}

/// Encode the JSON in `file` as a `ty`; write the octets to `output`, or print them
/// as `0x`-hex when no output file is given.
pub fn encode(
    spec: &ChainSpec,
    ty: NamedType,
    file: &Path,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let text = read_input(file)?;
    let json: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not valid JSON", file.display()))?;
    let bytes = ty.encode_from_json(spec, &json).with_context(|| {
        format!("{}: not a valid {} in the vectors' JSON form", file.display(), ty.name())
    })?;
    match output {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("0x{}", hex::encode(&bytes)),
    }
    Ok(())
}

/// Print the names `--type` accepts.
pub fn list_types() {
    for ty in NamedType::ALL {
        println!("{}", ty.name());
    }
}
