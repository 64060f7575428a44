//! The GP's hash functions (§3.8.1): `H` is Blake2b-256 and `H_K` is Keccak-256.

use sha3::Digest as _;

/// A 32-octet value, `ℍ`: a hash, a key or an entropy value.
pub type Hash = crate::bytes::ByteArray<32>;

/// `H(x)`: Blake2b with a 256-bit output, no key.
pub fn blake2b_256(data: &[u8]) -> Hash {
    let out = blake2b_simd::Params::new().hash_length(32).hash(data);
    Hash::from_slice(out.as_bytes()).expect("hash_length is 32")
}

/// `H(a ⌢ b ⌢ …)`: Blake2b-256 of the concatenation of `parts`, without copying them.
pub fn blake2b_256_concat(parts: &[&[u8]]) -> Hash {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    for p in parts {
        state.update(p);
    }
    Hash::from_slice(state.finalize().as_bytes()).expect("hash_length is 32")
}

/// `H_K(x)`: Keccak-256 (the original Keccak padding, as Ethereum uses, not SHA3-256).
pub fn keccak_256(data: &[u8]) -> Hash {
    crate::bytes::ByteArray(sha3::Keccak256::digest(data).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> Hash {
        s.parse().unwrap()
    }

    #[test]
    fn blake2b_256_known_answers() {
        // RFC 7693-style known answers for Blake2b-256.
        assert_eq!(
            blake2b_256(b""),
            hex32("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        );
        assert_eq!(
            blake2b_256(b"abc"),
            hex32("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
        );
        assert_eq!(blake2b_256_concat(&[b"a", b"", b"bc"]), blake2b_256(b"abc"));
    }

    #[test]
    fn keccak_256_known_answers() {
        assert_eq!(
            keccak_256(b""),
            hex32("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        );
        assert_eq!(
            keccak_256(b"abc"),
            hex32("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
        );
    }
}
