//! Ed25519 verification (GP §3.8.2, ZIP-215 rules) of many signatures on the GPU,
//! one invocation per signature, by one of two WGSL kernels ([`Ed25519Kernel`]) that
//! give the same verdicts: `program` (`shaders/ed25519.wgsl`, a register machine
//! shaped by lavapipe's limits) and `registers` (`shaders/ed25519_registers.wgsl`,
//! field elements in registers, written for hardware GPUs).
//!
//! The host does what is cheap and variable-length, the shader what is expensive and
//! fixed-size. Per item, on the CPU (spread over rayon's pool):
//! - `s` must be canonical (`s < ℓ`); an item whose `s` is not is
//!   [`Ed25519Error::NonCanonicalS`] and never reaches the GPU. The reference checks
//!   this first, so no other verdict could take precedence over it;
//! - `k = SHA-512(R ‖ A ‖ M) mod ℓ` over the encodings as given (RFC 8032 §5.1.7
//!   step 2; see [`crate::signatures`] for why this stays on the CPU).
//!
//! The GPU then receives 128 octets per item (`A`, `R`, `s`, `k`, each 32 octets
//! little-endian), decodes `A` and `R` (RFC 8032 §5.1.3 as relaxed by ZIP-215), and
//! checks the cofactored equation `[8]([s]B − [k]A − R) = 0`, returning one status
//! word per item that maps to the same verdict as
//! [`tessera_core::crypto::ed25519::verify`]: `KeyNotAPoint` before `RNotAPoint`
//! before `BadSignature`, the order in which the reference finds them.
//!
//! Each kernel's pipeline is compiled on first use, not with the [`GpuContext`]: the
//! shaders are large, and contexts that only erasure-code should not wait for them.

use std::sync::atomic::{AtomicUsize, Ordering};

use curve25519_dalek::scalar::Scalar;
use rayon::prelude::*;
use sha2::{Digest, Sha512};
use tessera_core::crypto::ed25519::{Ed25519Error, PublicKey, Signature};

use super::device::{
    bind_group_layout, binding, block_on, compute_pipeline, shader, storage_entry, uniform_entry,
    GpuContext, Pipeline, READBACK, STORAGE_IN, STORAGE_OUT, UNIFORM,
};
use super::ed25519_base::BASE_MULTIPLES;
use super::error::GpuError;
use super::reed_solomon::{READBACK_COPY, UPLOAD_COPY};

/// Which WGSL kernel verifies. Both take the same items and give the same verdicts
/// (the `gpu_ed25519` tests hold each to the reference); which is faster is a matter
/// for a hardware GPU (`tessera bench sigs --gpu-ed25519`, `scripts/gpu-check.sh`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ed25519Kernel {
    /// `shaders/ed25519.wgsl`: every field operation through a register file indexed
    /// at run time, driven by a generated program, so that lavapipe compiles one copy
    /// of the multiplication. The default: 1.85 M verifications/s measured on an H200
    /// at batch 100,000, with that register file in local (off-chip) memory.
    Program,
    /// `shaders/ed25519_registers.wgsl`: field elements as values indexed only by
    /// constants (registers), a 4-bit signed fixed-window double-scalar
    /// multiplication with A's multiples in workgroup memory (32 KiB per workgroup:
    /// an adapter with less fails to build it, a [`GpuError`]) and B's in a storage
    /// buffer. Unmeasured on a hardware GPU so far.
    Registers,
}

impl Ed25519Kernel {
    /// Both kernels, in the order of their slots among a context's pipelines.
    pub const ALL: [Ed25519Kernel; 2] = [Ed25519Kernel::Program, Ed25519Kernel::Registers];

    /// The name `--gpu-ed25519` takes.
    pub fn name(self) -> &'static str {
        match self {
            Ed25519Kernel::Program => "program",
            Ed25519Kernel::Registers => "registers",
        }
    }

    /// The kernel of that name.
    pub fn from_name(name: &str) -> Option<Ed25519Kernel> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Its slot among the context's pipelines.
    pub(super) fn index(self) -> usize {
        self as usize
    }

    /// Invocations per workgroup of its `verify` entry point.
    fn group(self) -> u64 {
        match self {
            Ed25519Kernel::Program => 64,
            // Each invocation keeps 1 KiB of A's multiples in workgroup memory.
            Ed25519Kernel::Registers => 32,
        }
    }
}

/// The process's [`Ed25519Kernel`], by its index in [`Ed25519Kernel::ALL`].
static KERNEL: AtomicUsize = AtomicUsize::new(0);

/// Verify with `kernel` from now on, for the process (`verify_ed25519_many`, and so
/// the `Gpu` signature backend).
pub fn set_kernel(kernel: Ed25519Kernel) {
    KERNEL.store(kernel.index(), Ordering::Relaxed);
}

/// The current [`set_kernel`] setting.
pub fn kernel() -> Ed25519Kernel {
    Ed25519Kernel::ALL[KERNEL.load(Ordering::Relaxed) % Ed25519Kernel::ALL.len()]
}

/// A compiled kernel and what it reads besides the items: for `registers`, [1..8]B.
pub(super) struct Verifier {
    pipeline: Pipeline,
    base: Option<wgpu::Buffer>,
}

/// Octets of one item in the input buffer: `A`, `R`, `s`, `k mod ℓ`.
pub const ITEM_OCTETS: usize = 128;

/// Octets of the `Params` uniform.
const PARAMS: u64 = 16;

/// The most items in one submission, whatever the binding limit allows. Unmeasured on
/// hardware (there was none to measure on): a bound chosen so that one submission
/// stays a fraction of a second's work on a GPU and well under a driver watchdog's
/// limit, while still being thousands of workgroups.
pub const MAX_ITEMS_PER_SUBMISSION: usize = 1 << 16;

/// The shader's status words.
const STATUS_OK: u32 = 0;
const STATUS_KEY_NOT_A_POINT: u32 = 1;
const STATUS_R_NOT_A_POINT: u32 = 2;
const STATUS_BAD_SIGNATURE: u32 = 3;
/// Written first by every invocation: read back, it means one did not run to the end.
const STATUS_UNFINISHED: u32 = u32::MAX;

/// An item's 128 octets for the GPU, or `None` when its `s` is not canonical.
fn pack(pk: &PublicKey, msg: &[u8], sig: &Signature) -> Option<[u8; ITEM_OCTETS]> {
    let r = sig.r();
    let s = sig.s();
    // ZIP-215 (and the reference, first of all checks) requires s < ℓ.
    Option::<Scalar>::from(Scalar::from_canonical_bytes(s))?;
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(pk.0 .0)
        .chain_update(msg)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&digest);
    let mut out = [0u8; ITEM_OCTETS];
    out[..32].copy_from_slice(&pk.0 .0);
    out[32..64].copy_from_slice(&r);
    out[64..96].copy_from_slice(&s);
    out[96..].copy_from_slice(k.as_bytes());
    Some(out)
}

/// The verdict a status word stands for.
fn verdict(status: u32) -> Result<Result<(), Ed25519Error>, GpuError> {
    match status {
        STATUS_OK => Ok(Ok(())),
        STATUS_KEY_NOT_A_POINT => Ok(Err(Ed25519Error::KeyNotAPoint)),
        STATUS_R_NOT_A_POINT => Ok(Err(Ed25519Error::RNotAPoint)),
        STATUS_BAD_SIGNATURE => Ok(Err(Ed25519Error::BadSignature)),
        STATUS_UNFINISHED => Err(GpuError::Operation(
            "an ed25519 kernel invocation stopped before its verdict".into(),
        )),
        other => Err(GpuError::Operation(format!(
            "ed25519 kernel returned unknown status {other}"
        ))),
    }
}

impl GpuContext {
    /// Verify every `(key, message, signature)` on the GPU and return each one's
    /// outcome, in input order, as [`tessera_core::crypto::ed25519::verify`] would
    /// give it. Fails as a whole only if the GPU does (a failed compilation,
    /// submission or read-back); never on any input. Runs the process's [`kernel`].
    pub fn verify_ed25519_many(
        &self,
        items: &[(PublicKey, &[u8], Signature)],
    ) -> Result<Vec<Result<(), Ed25519Error>>, GpuError> {
        self.verify_ed25519_many_with(kernel(), items)
    }

    /// [`GpuContext::verify_ed25519_many`] with the given kernel.
    pub fn verify_ed25519_many_with(
        &self,
        kernel: Ed25519Kernel,
        items: &[(PublicKey, &[u8], Signature)],
    ) -> Result<Vec<Result<(), Ed25519Error>>, GpuError> {
        let packed: Vec<Option<[u8; ITEM_OCTETS]>> = items
            .par_iter()
            .map(|(pk, msg, sig)| pack(pk, msg, sig))
            .collect();
        // Every item the GPU does not see is one whose s ≥ ℓ; the others are overwritten.
        let mut results = vec![Err(Ed25519Error::NonCanonicalS); items.len()];
        let queued: Vec<(usize, &[u8; ITEM_OCTETS])> = packed
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .collect();
        if queued.is_empty() {
            return Ok(results);
        }
        let verifier = self.ed25519_verifier(kernel)?;
        let per_submission =
            ((self.binding_limit / ITEM_OCTETS as u64) as usize).clamp(1, MAX_ITEMS_PER_SUBMISSION);
        let mut buffers = self.buffers();
        for chunk in queued.chunks(per_submission) {
            let statuses =
                self.scoped(|| self.verify_submission(&mut buffers, kernel, verifier, chunk))?;
            for (&(i, _), status) in chunk.iter().zip(statuses) {
                if let Some(slot) = results.get_mut(i) {
                    *slot = verdict(status)?;
                }
            }
        }
        Ok(results)
    }

    /// `kernel` compiled, built on the first call (and its error on every call if
    /// that failed).
    fn ed25519_verifier(&self, kernel: Ed25519Kernel) -> Result<&Verifier, GpuError> {
        self.ed25519[kernel.index()]
            .get_or_init(|| {
                let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
                let mut entries = vec![
                    storage_entry(0, true),
                    storage_entry(1, false),
                    uniform_entry(2, false),
                ];
                let (source, base) = match kernel {
                    Ed25519Kernel::Program => (include_str!("../../../shaders/ed25519.wgsl"), None),
                    Ed25519Kernel::Registers => {
                        entries.push(storage_entry(3, true));
                        let octets: Vec<u8> = BASE_MULTIPLES
                            .iter()
                            .flat_map(|w| w.to_le_bytes())
                            .collect();
                        let base = self.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("ed25519 base multiples"),
                            size: octets.len() as u64,
                            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                            mapped_at_creation: false,
                        });
                        self.queue.write_buffer(&base, 0, &octets);
                        (
                            include_str!("../../../shaders/ed25519_registers.wgsl"),
                            Some(base),
                        )
                    }
                };
                let label = format!("ed25519 {}", kernel.name());
                let layout = bind_group_layout(&self.device, &label, &entries);
                let module = shader(&self.device, &label, source);
                let pipeline = compute_pipeline(&self.device, &layout, &module, "verify");
                match block_on(scope.pop()) {
                    Some(e) => Err(GpuError::Operation(format!(
                        "building the {label} kernel: {e}"
                    ))),
                    None => Ok(Verifier {
                        pipeline: Pipeline { layout, pipeline },
                        base,
                    }),
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// One submission: upload `chunk`'s packed items, verify, read the statuses back.
    fn verify_submission(
        &self,
        buffers: &mut super::device::Buffers,
        kernel: Ed25519Kernel,
        verifier: &Verifier,
        chunk: &[(usize, &[u8; ITEM_OCTETS])],
    ) -> Result<Vec<u32>, GpuError> {
        let count = chunk.len();
        let input_size = (count * ITEM_OCTETS) as u64;
        let output_size = (count * 4) as u64;
        let input = self.buffer(
            &mut buffers.sig_input,
            input_size,
            STORAGE_IN,
            "ed25519 input",
        );
        let output = self.buffer(
            &mut buffers.sig_output,
            output_size,
            STORAGE_OUT,
            "ed25519 output",
        );
        let params = self.buffer(&mut buffers.params, PARAMS, UNIFORM, "params");
        let readback = self.buffer(&mut buffers.readback, output_size, READBACK, "readback");
        let upload = self.stage(&mut buffers.upload, input_size, |view| {
            for (n, (_, item)) in chunk.iter().enumerate() {
                let at = n * ITEM_OCTETS;
                view.slice(at..at + ITEM_OCTETS).copy_from_slice(&item[..]);
            }
        })?;
        let count_word = u32::try_from(count)
            .map_err(|_| GpuError::Operation(format!("{count} items in one submission")))?;
        let mut words = [0u8; PARAMS as usize];
        words[..4].copy_from_slice(&count_word.to_le_bytes());
        self.queue.write_buffer(params, 0, &words);
        let mut entries = vec![
            (0, binding(input, input_size)),
            (1, binding(output, output_size)),
            (2, binding(params, PARAMS)),
        ];
        if let Some(base) = &verifier.base {
            entries.push((3, binding(base, base.size())));
        }
        let pipeline = &verifier.pipeline;
        let bind_group = self.bind_group("ed25519", &pipeline.layout, &entries);
        let (x, y) = self.groups(count as u64, kernel.group())?;
        let mut recorder = self.recorder();
        recorder.copy(UPLOAD_COPY, (upload, 0), (input, 0), input_size);
        {
            let mut pass = recorder.pass(match kernel {
                Ed25519Kernel::Program => "ed25519: verify",
                Ed25519Kernel::Registers => "ed25519: verify (registers)",
            });
            pass.set_pipeline(&pipeline.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        recorder.copy(READBACK_COPY, (output, 0), (readback, 0), output_size);
        self.submit(recorder);
        let mut statuses = Vec::with_capacity(count);
        self.read_back(readback, output_size, |octets| {
            statuses.extend(
                octets
                    .chunks_exact(4)
                    .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
            );
        })?;
        if statuses.len() != count {
            return Err(GpuError::Operation(format!(
                "ed25519 kernel returned {} statuses for {count} items",
                statuses.len()
            )));
        }
        Ok(statuses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_canonical_s_is_not_packed() {
        let sig = Signature::from_parts([1; 32], [0xff; 32]);
        assert!(pack(&PublicKey::from([1; 32]), b"m", &sig).is_none());
        let sig = Signature::from_parts([1; 32], [0; 32]);
        assert!(pack(&PublicKey::from([1; 32]), b"m", &sig).is_some());
    }

    #[test]
    fn unknown_status_is_an_error() {
        assert_eq!(verdict(0), Ok(Ok(())));
        assert_eq!(verdict(3), Ok(Err(Ed25519Error::BadSignature)));
        assert!(verdict(4).is_err());
        assert!(verdict(STATUS_UNFINISHED).is_err());
    }

    #[test]
    fn kernel_names_round_trip() {
        for k in Ed25519Kernel::ALL {
            assert_eq!(Ed25519Kernel::from_name(k.name()), Some(k));
            assert_eq!(Ed25519Kernel::ALL[k.index()], k);
        }
        assert_eq!(Ed25519Kernel::from_name("other"), None);
    }
}
