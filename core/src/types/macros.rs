//! The declarative macro shared by the plain record types.

/// Implement [`Encode`](crate::codec::Encode), [`Decode`](crate::codec::Decode) and
/// [`Check`](crate::types::Check) for a struct whose serialization is the
/// concatenation of its fields' own serializations, in the order listed (GP C.1.1:
/// a tuple encodes as its elements in turn). Types with compact, spec-fixed or
/// bounded fields write these impls by hand instead.
macro_rules! codec_struct {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::codec::Encode for $ty {
            fn encode_to(&self, out: &mut Vec<u8>) {
                $( $crate::codec::Encode::encode_to(&self.$field, out); )+
            }
        }

        impl $crate::codec::Decode for $ty {
            fn decode(
                r: &mut $crate::codec::Reader<'_>,
            ) -> Result<Self, $crate::codec::DecodeError> {
                Ok($ty { $( $field: $crate::codec::Decode::decode(r)?, )+ })
            }
        }

        impl $crate::types::bounds::Check for $ty {
            fn check(
                &self,
                spec: &$crate::spec::ChainSpec,
            ) -> Result<(), $crate::types::bounds::SpecViolation> {
                $(
                    $crate::types::bounds::Check::check(&self.$field, spec)
                        .map_err(|e| e.within(stringify!($field)))?;
                )+
                Ok(())
            }
        }
    };
}
