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
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
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
    let written = serde_json::to_writer_pretty(&mut out, &json)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out));
    match written {
        // A reader such as `head` that closes the pipe early is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
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
    let text =
        String::from_utf8(text).with_context(|| format!("{}: not UTF-8 text", file.display()))?;
    let bytes = ty.encode_from_json_str(spec, &text).with_context(|| {
        format!(
            "{}: not a valid {} in the vectors' JSON form",
            file.display(),
            ty.name()
        )
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
