//! [`Shards`]: the `V` shards of one coded blob in one contiguous, reusable buffer.
//!
//! Shard `i` is `data[i · shard_len .. (i + 1) · shard_len]`: originals `0..k` first
//! (the zero-padded blob itself, or for segments validator `i`'s pieces back to back),
//! then recovery shards. One allocation per buffer, kept across calls by the
//! [`crate::ErasureCoder`] that fills it, instead of `V` small vectors per blob.

/// `count` shards of `shard_len` octets each, back to back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shards {
    count: usize,
    shard_len: usize,
    data: Vec<u8>,
}

impl Shards {
    /// An empty buffer (no shards); a coder gives it its shape on first use.
    pub fn new() -> Shards {
        Shards::default()
    }

    /// Give the buffer the shape `count × shard_len`, keeping its allocation. The
    /// contents are unspecified afterwards (callers overwrite every octet).
    pub(crate) fn reshape(&mut self, count: usize, shard_len: usize) -> Option<()> {
        let len = count.checked_mul(shard_len)?;
        self.count = count;
        self.shard_len = shard_len;
        self.data.resize(len, 0);
        Some(())
    }

    /// Shards from equally long rows (`None` if their lengths differ).
    pub fn from_rows<R: AsRef<[u8]>>(rows: &[R]) -> Option<Shards> {
        let shard_len = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(shard_len.checked_mul(rows.len())?);
        for row in rows {
            if row.as_ref().len() != shard_len {
                return None;
            }
            data.extend_from_slice(row.as_ref());
        }
        Some(Shards {
            count: rows.len(),
            shard_len,
            data,
        })
    }

    /// The number of shards (`V` for a coded blob).
    pub fn count(&self) -> usize {
        self.count
    }

    /// The octets of every shard.
    pub fn shard_len(&self) -> usize {
        self.shard_len
    }

    /// Shard `i`.
    ///
    /// # Panics
    /// If `i >= self.count()`, like slice indexing; see [`Shards::get`].
    pub fn shard(&self, i: usize) -> &[u8] {
        assert!(i < self.count, "shard {i} of {}", self.count);
        &self.data[i * self.shard_len..(i + 1) * self.shard_len]
    }

    /// Shard `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i < self.count {
            self.data.get(i * self.shard_len..(i + 1) * self.shard_len)
        } else {
            None
        }
    }

    /// Every shard in order (`count` slices, empty ones when `shard_len` is 0).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.count).map(move |i| self.shard(i))
    }

    /// All shards as one buffer, shard 0 first.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The whole buffer, mutably (crate-internal: coders fill it in place).
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// One owned vector per shard: the shape of the simple [`crate::encode`] API.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }
}
