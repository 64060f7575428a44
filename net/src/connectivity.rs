//! Required connectivity (JAMNP-S "Required connectivity", "Grid structure"):
//! who dials whom, where validators listen, and which validators are linked in
//! the grid.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

use tessera_core::types::ValidatorMetadata;

use crate::identity::PeerId;

/// `P(a, b)`: the preferred initiator of a connection between `a` and `b`,
/// `a` when `bits(a)_255 ⊕ bits(b)_255 ⊕ (a < b)`, else `b`. `bits` is the GP's
/// least-significant-bit-first bit string, so bit 255 is the top bit of the last
/// octet; `a < b` compares the keys as octet strings.
pub fn preferred_initiator(a: &PeerId, b: &PeerId) -> PeerId {
    let top = |k: &PeerId| k.as_bytes()[31] >> 7 == 1;
    if top(a) ^ top(b) ^ (a.as_bytes() < b.as_bytes()) {
        *a
    } else {
        *b
    }
}

/// Whether `me` should dial `peer` at once (rather than after the fallback delay).
pub fn we_initiate(me: &PeerId, peer: &PeerId) -> bool {
    preferred_initiator(me, peer) == *me
}

/// A validator's endpoint: the first 18 octets of its metadata, a 16-octet IPv6
/// address and a little-endian port.
pub fn validator_address(metadata: &ValidatorMetadata) -> SocketAddr {
    let m = &metadata.0;
    let mut ip = [0u8; 16];
    ip.copy_from_slice(&m[..16]);
    let port = u16::from_le_bytes([m[16], m[17]]);
    let ip = Ipv6Addr::from(ip);
    // An IPv4-mapped address is dialled as IPv4, so IPv4-only hosts work.
    match ip.to_ipv4_mapped() {
        Some(v4) => SocketAddr::new(v4.into(), port),
        None => SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0)),
    }
}

/// The metadata prefix announcing `addr` (IPv4 addresses are IPv4-mapped); the
/// other 110 octets are zero.
pub fn metadata_for_address(addr: SocketAddr) -> ValidatorMetadata {
    let ip = match addr {
        SocketAddr::V4(a) => a.ip().to_ipv6_mapped(),
        SocketAddr::V6(a) => *a.ip(),
    };
    let mut m = [0u8; 128];
    m[..16].copy_from_slice(&ip.octets());
    m[16..18].copy_from_slice(&addr.port().to_le_bytes());
    tessera_core::ByteArray(m)
}

/// `W = ⌊√V⌋`, the grid's row width.
pub fn grid_width(validators: usize) -> usize {
    let mut w = (validators as f64).sqrt() as usize;
    while (w + 1) * (w + 1) <= validators {
        w += 1;
    }
    while w * w > validators {
        w -= 1;
    }
    w.max(1)
}

/// Whether validators `i` and `j` of one epoch are grid neighbours: same row
/// (`index / W`) or same column (`index % W`).
pub fn same_epoch_neighbours(i: usize, j: usize, validators: usize) -> bool {
    let w = grid_width(validators);
    i != j && (i / w == j / w || i % w == j % w)
}

/// The grid neighbours of validator `me` within a set of `validators`.
pub fn grid_neighbours(me: usize, validators: usize) -> Vec<usize> {
    (0..validators)
        .filter(|&j| same_epoch_neighbours(me, j, validators))
        .collect()
}

/// The validator sets that must be connected: previous, current and next epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidatorSets {
    /// Previous epoch's validators (key and address).
    pub previous: Vec<(PeerId, SocketAddr)>,
    /// Current epoch's.
    pub current: Vec<(PeerId, SocketAddr)>,
    /// Next epoch's.
    pub next: Vec<(PeerId, SocketAddr)>,
}

impl ValidatorSets {
    /// Every validator of the three sets except `me`, once each: the peers to be
    /// connected to (JAMNP-S "Required connectivity").
    pub fn required_peers(&self, me: &PeerId) -> Vec<(PeerId, SocketAddr)> {
        let mut out: Vec<(PeerId, SocketAddr)> = Vec::new();
        for (k, a) in self.previous.iter().chain(&self.current).chain(&self.next) {
            if k != me && !out.iter().any(|(o, _)| o == k) {
                out.push((*k, *a));
            }
        }
        out
    }

    /// Whether `me` and `peer` are linked in the grid: neighbours in one of the
    /// sets, or holding the same index in two different sets. UP 0 runs between
    /// linked validators, and between any node and a non-validator.
    pub fn grid_linked(&self, me: &PeerId, peer: &PeerId) -> bool {
        let sets = [&self.previous, &self.current, &self.next];
        let index =
            |set: &Vec<(PeerId, SocketAddr)>, k: &PeerId| set.iter().position(|(o, _)| o == k);
        for set in sets {
            if let (Some(i), Some(j)) = (index(set, me), index(set, peer)) {
                if same_epoch_neighbours(i, j, set.len()) {
                    return true;
                }
            }
        }
        for (x, a) in sets.iter().enumerate() {
            for (y, b) in sets.iter().enumerate() {
                if x != y {
                    if let (Some(i), Some(j)) = (index(a, me), index(b, peer)) {
                        if i == j {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }

    /// Whether `k` is a validator of any of the three sets.
    pub fn contains(&self, k: &PeerId) -> bool {
        self.previous
            .iter()
            .chain(&self.current)
            .chain(&self.next)
            .any(|(o, _)| o == k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::crypto::ed25519::PublicKey;
    use tessera_core::ByteArray;

    fn peer(last: u8, first: u8) -> PeerId {
        let mut k = [0u8; 32];
        k[0] = first;
        k[31] = last;
        PeerId(PublicKey(ByteArray(k)))
    }

    #[test]
    fn preferred_initiator_follows_the_formula() {
        // Neither top bit set: a < b picks a.
        let (a, b) = (peer(0x00, 1), peer(0x00, 2));
        assert_eq!(preferred_initiator(&a, &b), a);
        assert_eq!(preferred_initiator(&b, &a), a);
        // One top bit set flips it: the greater key initiates.
        let (a, b) = (peer(0x80, 1), peer(0x00, 2));
        assert_eq!(preferred_initiator(&a, &b), b);
        assert_eq!(preferred_initiator(&b, &a), b);
        let (a, b) = (peer(0x00, 1), peer(0x80, 2));
        assert_eq!(preferred_initiator(&a, &b), b);
        // Both set: back to the lesser.
        let (a, b) = (peer(0x80, 1), peer(0x80, 2));
        assert_eq!(preferred_initiator(&a, &b), a);
        // Exactly one of any pair initiates.
        for x in 0..8u8 {
            for y in 0..8u8 {
                let (a, b) = (peer(x << 5, x), peer(y << 5, y.wrapping_add(100)));
                assert_ne!(we_initiate(&a, &b), we_initiate(&b, &a));
            }
        }
    }

    #[test]
    fn addresses_round_trip_through_metadata() {
        for addr in ["127.0.0.1:40000", "[::1]:9", "[2001:db8::7]:65535"] {
            let a: SocketAddr = addr.parse().unwrap();
            assert_eq!(validator_address(&metadata_for_address(a)), a);
        }
        let mut m = [0u8; 128];
        m[15] = 1;
        m[16] = 0x34;
        m[17] = 0x12;
        assert_eq!(
            validator_address(&ByteArray(m)),
            "[::1]:4660".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn grid_rows_and_columns() {
        assert_eq!(grid_width(6), 2);
        assert_eq!(grid_width(1023), 31);
        assert_eq!(grid_width(1024), 32);
        // V = 6, W = 2: rows {0,1},{2,3},{4,5}; columns {0,2,4},{1,3,5}.
        assert_eq!(grid_neighbours(0, 6), vec![1, 2, 4]);
        assert_eq!(grid_neighbours(3, 6), vec![1, 2, 5]);
        // Full chain: 30 in the row and 32 or 33 in the column, minus overlaps.
        let n = grid_neighbours(500, 1023).len();
        assert!((60..=64).contains(&n), "{n}");
    }

    #[test]
    fn sets_link_by_grid_and_by_index_across_epochs() {
        let a = |i: u8| (peer(0, i), "127.0.0.1:1".parse::<SocketAddr>().unwrap());
        let sets = ValidatorSets {
            previous: vec![a(10), a(11), a(12), a(13)],
            current: vec![a(1), a(2), a(3), a(4)],
            next: vec![a(1), a(2), a(3), a(4)],
        };
        let p = |i: u8| peer(0, i);
        assert!(sets.grid_linked(&p(1), &p(2))); // same row
        assert!(sets.grid_linked(&p(1), &p(3))); // same column
        assert!(!sets.grid_linked(&p(1), &p(4))); // diagonal
        assert!(sets.grid_linked(&p(1), &p(10))); // index 0 in two epochs
        assert!(!sets.grid_linked(&p(1), &p(13)));
        assert_eq!(sets.required_peers(&p(1)).len(), 7);
    }
}
