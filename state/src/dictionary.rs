//! Dictionaries held as sequences of entries (GP C.10): the encoding is the
//! entries in turn, with strictly increasing keys.

use tessera_core::codec::{Decode, DecodeError, DecodeErrorKind, Reader};

/// Read a length-prefixed sequence the GP orders strictly by `key` (a
/// dictionary's entries), refusing one whose keys do not strictly increase.
pub(crate) fn decode_sorted_by<T: Decode, K: PartialOrd>(
    r: &mut Reader<'_>,
    what: &'static str,
    max: Option<usize>,
    key: impl Fn(&T) -> K,
) -> Result<Vec<T>, DecodeError> {
    let at = r.position();
    let items: Vec<T> = r.seq(what, max)?;
    if items.windows(2).any(|w| key(&w[0]) >= key(&w[1])) {
        return Err(DecodeError::new(at, DecodeErrorKind::NotSorted { what }));
    }
    Ok(items)
}
