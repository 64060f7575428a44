//! What a bench ran on, named in every table, JSON record and plot: the CPU model and
//! thread count, the SIMD engine the kernels chose at run time, and the GPU adapter
//! (name, driver, and whether it is a software rasteriser such as lavapipe) or why
//! there is none — so a row measured on lavapipe never reads like a slow GPU, and
//! figures from two machines are never mistaken for one.

use serde::Serialize;

/// The machine of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// The CPU model (`/proc/cpuinfo`'s `model name`; the architecture elsewhere).
    pub cpu: String,
    /// Threads of rayon's pool.
    pub threads: usize,
    /// The kernels' SIMD erasure-code engine, as chosen at run time.
    pub simd: String,
    /// The GPU adapter, or why none was used.
    pub gpu: String,
}

impl Machine {
    /// Describe this machine; the GPU adapter is probed only if `gpu` (a GPU backend
    /// was asked for), so that a CPU-only run touches no graphics driver.
    pub fn probe(gpu: bool) -> Machine {
        let gpu = if !gpu {
            "not used".to_string()
        } else {
            match tessera_kernels::gpu::context() {
                Ok(ctx) => format!(
                    "{} ({}; {} erasure-transform layers per dispatch, {:?} multiplication, \
                     {} ed25519 kernel{})",
                    ctx.adapter_name(),
                    ctx.driver(),
                    tessera_kernels::gpu::reed_solomon::radix_bits(),
                    tessera_kernels::gpu::reed_solomon::multiply(),
                    tessera_kernels::gpu::ed25519::kernel().name(),
                    if ctx.is_software() {
                        "; software rasteriser: a correctness check, not a GPU figure"
                    } else {
                        ""
                    }
                ),
                Err(e) => format!("none: {e}"),
            }
        };
        Machine {
            cpu: cpu_model(),
            threads: rayon::current_num_threads(),
            simd: tessera_kernels::simd::encoder_transforms().to_string(),
            gpu,
        }
    }

    /// One line for the top of a table or a plot's caption.
    pub fn line(&self) -> String {
        format!(
            "machine: {}, {} threads; simd: {}; gpu: {}",
            self.cpu, self.threads, self.simd, self.gpu
        )
    }

    /// `records` as the pretty JSON array a bench prints, each with this machine.
    pub fn json<T: Serialize>(&self, records: &[T]) -> serde_json::Result<String> {
        let all = records
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()?;
        serde_json::to_string_pretty(&self.annotate(all))
    }

    /// `records` with this machine added to each object as `"machine"`.
    pub fn annotate(&self, records: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
        let me = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        records
            .into_iter()
            .map(|mut r| {
                if let Some(object) = r.as_object_mut() {
                    object.insert("machine".into(), me.clone());
                }
                r
            })
            .collect()
    }
}

/// The CPU's model name, or the architecture where it cannot be read.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}
