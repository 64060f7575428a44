//! `H` (GP §3.8.1, Blake2b-256) of many inputs on the GPU: inputs of one length go to
//! one dispatch, one invocation per input: `shaders/blake2b_int64.wgsl` (native u64)
//! when the device has SHADER_INT64, else `shaders/blake2b.wgsl` (u32 pairs).

use std::collections::BTreeMap;

use tessera_core::hash::{blake2b_256, Hash};

use super::device::{binding, digests, GpuContext, READBACK, STORAGE_IN, STORAGE_OUT, UNIFORM};
use super::error::GpuError;
use super::recorder::Recorder;
use super::reed_solomon::{READBACK_COPY, UPLOAD_COPY};

/// Invocations per workgroup of the `hash` entry point.
const GROUP: u64 = 64;

/// Octets of the `Params` uniform.
const PARAMS: u64 = 16;

impl GpuContext {
    /// `[H(x) | x ∈ inputs]`, in order. Inputs are grouped by length, and each group is
    /// hashed in as few submissions as the binding limit allows. An input longer than
    /// one binding ([`super::MAX_BINDING`]) is hashed on the CPU.
    pub fn blake2b_many<I: AsRef<[u8]>>(&self, inputs: &[I]) -> Result<Vec<Hash>, GpuError> {
        let mut out = vec![Hash::ZERO; inputs.len()];
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, x) in inputs.iter().enumerate() {
            groups.entry(x.as_ref().len()).or_default().push(i);
        }
        let mut buffers = self.buffers();
        for (len, indices) in groups {
            let stride = len.div_ceil(4);
            let slot = (stride * 4) as u64;
            if slot > self.binding_limit {
                for &i in &indices {
                    if let (Some(o), Some(x)) = (out.get_mut(i), inputs.get(i)) {
                        *o = blake2b_256(x.as_ref());
                    }
                }
                continue;
            }
            let per_submission = (self.binding_limit / slot.max(32)).max(1) as usize;
            for batch in indices.chunks(per_submission) {
                let hashes = self.scoped(|| {
                    let batch_inputs = batch.iter().filter_map(|&i| inputs.get(i));
                    self.hash_batch(&mut buffers, len, stride, batch.len(), batch_inputs)
                })?;
                for (&i, hash) in batch.iter().zip(hashes) {
                    if let Some(o) = out.get_mut(i) {
                        *o = hash;
                    }
                }
            }
        }
        Ok(out)
    }

    /// One submission: `count` inputs of `len` octets, `stride` words apart.
    fn hash_batch<'x, I: AsRef<[u8]> + 'x>(
        &self,
        buffers: &mut super::device::Buffers,
        len: usize,
        stride: usize,
        count: usize,
        inputs: impl Iterator<Item = &'x I>,
    ) -> Result<Vec<Hash>, GpuError> {
        let input_size = ((count * stride * 4) as u64).max(4);
        let output_size = (count * 32) as u64;
        let usage = STORAGE_IN;
        let input = self.buffer(&mut buffers.hash_input, input_size, usage, "blake2b input");
        let output = self.buffer(
            &mut buffers.hash_output,
            output_size,
            STORAGE_OUT,
            "blake2b output",
        );
        let params = self.buffer(&mut buffers.params, PARAMS, UNIFORM, "params");
        let readback = self.buffer(&mut buffers.readback, output_size, READBACK, "readback");
        let upload_size = (count * stride * 4) as u64;
        let upload = if upload_size > 0 {
            let slot = stride * 4;
            Some(self.stage(&mut buffers.upload, upload_size, |view| {
                for (n, x) in inputs.enumerate() {
                    let at = n * slot;
                    let x = x.as_ref();
                    view.slice(at..at + x.len()).copy_from_slice(x);
                    view.slice(at + x.len()..at + slot).fill(0);
                }
            })?)
        } else {
            None
        };
        let mut recorder = self.recorder();
        if let Some(upload) = upload {
            recorder.copy(UPLOAD_COPY, (upload, 0), (input, 0), upload_size);
        }
        self.record_hash(
            &mut recorder,
            params,
            (input, input_size),
            (output, output_size),
            (len, stride, count),
        )?;
        recorder.copy(READBACK_COPY, (output, 0), (readback, 0), output_size);
        self.submit(recorder);
        let mut hashes = Vec::with_capacity(count);
        self.read_back(readback, output_size, |octets| {
            hashes.extend(digests(octets));
        })?;
        Ok(hashes)
    }

    /// Record one `hash` dispatch into `encoder`: `count` inputs of `len` octets,
    /// `stride` words apart in `input`, digests to `output` (32 octets each), with its
    /// uniform in `params`.
    pub(super) fn record_hash(
        &self,
        recorder: &mut Recorder,
        params: &wgpu::Buffer,
        (input, input_size): (&wgpu::Buffer, u64),
        (output, output_size): (&wgpu::Buffer, u64),
        (len, stride, count): (usize, usize, usize),
    ) -> Result<(), GpuError> {
        let words = [len, stride, count, 0].map(|w| u32::try_from(w).unwrap_or(u32::MAX));
        let mut bytes = Vec::with_capacity(PARAMS as usize);
        for w in words {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        self.queue.write_buffer(params, 0, &bytes);
        let bind_group = self.bind_group(
            "blake2b",
            &self.blake2b.layout,
            &[
                (0, binding(input, input_size)),
                (1, binding(output, output_size)),
                (2, binding(params, PARAMS)),
            ],
        );
        let (x, y) = self.groups(count as u64, GROUP)?;
        let mut pass = recorder.pass("hash: blake2b");
        pass.set_pipeline(
            self.blake2b_int64
                .as_ref()
                .unwrap_or(&self.blake2b.pipeline),
        );
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
        Ok(())
    }
}
