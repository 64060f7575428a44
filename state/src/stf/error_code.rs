//! The numeric error codes of the vectors' ASN.1 `ErrorCode` enumerations.
//!
//! The GP defines no error codes: it only says a block is invalid. The vectors
//! name each failure (`bad-signature`, …) and number it; the binary form of a
//! vector's `err` output is that number as one octet.

/// An STF error with a vector error code.
pub trait ErrorCode: Sized {
    /// The ASN.1 enumeration value.
    fn code(&self) -> u8;
    /// The error of an enumeration value, if it names one.
    fn from_code(code: u8) -> Option<Self>;
}

/// Implement [`ErrorCode`] for a field-less enum from `Variant = code` pairs.
macro_rules! error_codes {
    ($ty:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        impl $crate::stf::error_code::ErrorCode for $ty {
            fn code(&self) -> u8 {
                match self { $($ty::$variant => $code,)+ }
            }
            fn from_code(code: u8) -> Option<Self> {
                match code { $($code => Some($ty::$variant),)+ _ => None }
            }
        }
    };
}
