//! `--calibrate` of `tessera bench da` and `tessera bench sigs`: the `simd` and `gpu`
//! rates each run measured side by side, as the points of a
//! [`tessera_kernels::calibration::Calibration`] that `Backend::Auto` then follows on
//! this machine. Written into the file (merged with what it holds for other
//! operations) only when both backends ran.

use std::path::Path;

use anyhow::{bail, Context as _};
use tessera_kernels::calibration::{Calibration, Operation, Point};

/// `(operation, size, backend, rate)` of one measurement.
pub type Rate<'a> = (Operation, u64, &'a str, f64);

/// The points of every (operation, size) measured on both `gpu` and `simd`.
pub fn points(rates: &[Rate<'_>]) -> Vec<Point> {
    let mut points = Vec::new();
    for &(operation, size, backend, gpu_per_s) in rates {
        if backend != "gpu" {
            continue;
        }
        let simd = rates
            .iter()
            .find(|&&(o, s, b, _)| o == operation && s == size && b == "simd");
        if let Some(&(_, _, _, simd_per_s)) = simd {
            points.push(Point {
                operation,
                size,
                gpu_per_s,
                simd_per_s,
            });
        }
    }
    points
}

/// Merge `points` (measured on the process's GPU context) into the calibration file
/// at `path`, creating it (and its folder) if need be; returns what was written.
pub fn write(path: &Path, points: Vec<Point>) -> anyhow::Result<Calibration> {
    if points.is_empty() {
        bail!("--calibrate needs both the simd and the gpu backend measured (--backend simd,gpu)");
    }
    let ctx = tessera_kernels::gpu::context().context("--calibrate: the GPU")?;
    let mut calibration = match std::fs::read_to_string(path) {
        Ok(text) => Calibration::from_json(&text)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{} (delete it to start afresh)", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Calibration::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    calibration.merge(Calibration {
        adapter: ctx.adapter_name().to_string(),
        driver: ctx.driver(),
        simd: tessera_kernels::simd::encoder_transforms().to_string(),
        points,
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, calibration.to_json())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(calibration)
}

/// What `--calibrate` does at the end of a bench: the points of `rates` merged into
/// the file at `path`, and on stderr what `auto` now runs where.
pub fn store(path: &Path, rates: &[Rate<'_>]) -> anyhow::Result<()> {
    let written = write(path, points(rates))?;
    eprintln!("GPU calibration written to {}:", path.display());
    for line in describe(&written) {
        eprintln!("{line}");
    }
    Ok(())
}

/// Where `--calibrate` writes (`file`, the calibration file of the command line),
/// refused unless both backends it compares are measured.
pub fn target(
    calibrate: bool,
    file: Option<&Path>,
    simd_and_gpu: bool,
) -> anyhow::Result<Option<&Path>> {
    match (calibrate, file) {
        (false, _) => Ok(None),
        (true, None) => bail!("--calibrate: no calibration file (set --gpu-calibration or HOME)"),
        (true, Some(_)) if !simd_and_gpu => {
            bail!("--calibrate compares simd with gpu: run it with --backend simd,gpu")
        }
        (true, Some(path)) => Ok(Some(path)),
    }
}

/// One line per operation: where `auto` now runs it.
pub fn describe(calibration: &Calibration) -> Vec<String> {
    let mut lines = Vec::new();
    for p in &calibration.points {
        lines.push(format!(
            "  {:<13} at {:>12}: gpu {:>12.1}/s, simd {:>12.1}/s → auto runs {}",
            p.operation.name(),
            p.size,
            p.gpu_per_s,
            p.simd_per_s,
            if calibration.gpu_wins(p.operation, p.size) {
                "gpu"
            } else {
                "simd"
            }
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_pair_gpu_with_simd_at_the_same_size() {
        let rates = [
            (Operation::Encode, 10, "simd", 2.0),
            (Operation::Encode, 10, "gpu", 1.0),
            (Operation::Encode, 10, "reed-solomon-simd", 9.0),
            (Operation::Hash, 10, "gpu", 5.0),
            (Operation::Hash, 20, "simd", 5.0),
        ];
        assert_eq!(
            points(&rates),
            vec![Point {
                operation: Operation::Encode,
                size: 10,
                gpu_per_s: 1.0,
                simd_per_s: 2.0
            }]
        );
    }
}
