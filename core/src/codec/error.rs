use std::fmt;

/// Why a decoder stopped, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError {
    /// Byte offset into the input at which the offending item starts.
    pub offset: usize,
    /// What was wrong there.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// An error of `kind` at byte `offset`.
    pub fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError { offset, kind }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte offset {}: {}", self.offset, self.kind)
    }
}

/// The kinds of decoding failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The input ended inside an item.
    #[error(
        "unexpected end of input reading {what}: needed {needed} more octets, {remaining} left"
    )]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
        /// Octets the item needed.
        needed: usize,
        /// Octets that were left.
        remaining: usize,
    },
    /// The value was complete but input remained.
    #[error("{count} trailing octets after the value")]
    TrailingBytes {
        /// How many octets were left unread.
        count: usize,
    },
    /// A natural was not in its shortest (canonical) form.
    #[error("non-canonical compact natural for {what}")]
    NonCanonical {
        /// What was being read.
        what: &'static str,
    },
    /// A discriminator or tag octet was not one of the allowed values.
    #[error("invalid tag {tag} for {what}")]
    InvalidTag {
        /// What was being read.
        what: &'static str,
        /// The octet found.
        tag: u8,
    },
    /// A length exceeded what the spec allows or what the input could hold.
    #[error("length {len} of {what} exceeds its bound {max}")]
    LengthTooLarge {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The largest length acceptable here.
        max: u64,
    },
    /// A dictionary's keys (or a set's items) were not strictly increasing.
    #[error("{what} is not strictly ordered by key (duplicate or out of order)")]
    NotSorted {
        /// What was being read.
        what: &'static str,
    },
    /// A value was well-formed but outside its domain.
    #[error("invalid {what}: {reason}")]
    InvalidValue {
        /// What was being read.
        what: &'static str,
        /// Why it is invalid.
        reason: String,
    },
}
