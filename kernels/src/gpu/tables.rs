//! The GF(2^16) log and exp tables the Reed–Solomon shader reads from a storage
//! buffer (uploaded once per context), built from the `cpu` reference's field.

use crate::cpu::field::{field, GROUP_ORDER};

/// u32s of the `tables` buffer: log, then exp (twice the group order).
pub(super) fn table_words() -> usize {
    (1 << 16) + 2 * GROUP_ORDER
}

/// The `tables` buffer's octets, in the layout `shaders/reed_solomon.wgsl` reads.
pub(super) fn table_bytes() -> Vec<u8> {
    let f = field();
    let words = f.log_table().iter().chain(f.exp_table());
    let mut out = Vec::with_capacity(table_words() * 4);
    for &w in words {
        out.extend_from_slice(&u32::from(w).to_le_bytes());
    }
    out
}
