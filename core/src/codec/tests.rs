use super::*;
use proptest::prelude::*;

fn spec() -> ChainSpec {
    ChainSpec::tiny()
}

fn nat(x: u64) -> Vec<u8> {
    let mut v = Vec::new();
    encode_natural(x, &mut v);
    v
}

fn read_nat(b: &[u8]) -> Result<u64, DecodeError> {
    let s = spec();
    let mut r = Reader::new(&s, b);
    let x = r.natural("n")?;
    r.finish()?;
    Ok(x)
}

#[test]
fn natural_boundaries_follow_eq_c6() {
    // Each boundary 2^(7l) moves to one more octet.
    assert_eq!(nat(0), [0]);
    assert_eq!(nat(127), [127]);
    assert_eq!(nat(128), [0x80, 0x80]);
    assert_eq!(nat(16383), [0xBF, 0xFF]);
    assert_eq!(nat(16384), [0xC0, 0x00, 0x40]);
    assert_eq!(
        nat((1 << 56) - 1),
        [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    assert_eq!(nat(1 << 56), [0xFF, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(nat(u64::MAX), [0xFF; 9]);
    for l in 0..9u32 {
        let x = if l == 0 { 0 } else { 1u64 << (7 * l).min(63) };
        assert_eq!(nat(x).len(), (l + 1) as usize, "2^(7·{l})");
    }
}

#[test]
fn non_canonical_naturals_are_rejected() {
    // 5 written with a one-octet tail instead of alone.
    let e = read_nat(&[0x80, 0x05]).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::NonCanonical { what: "n" });
    assert!(read_nat(&[0xFF, 1, 0, 0, 0, 0, 0, 0, 0]).is_err());
    assert!(read_nat(&[0xC0, 0x00, 0x00]).is_err());
}

#[test]
fn huge_length_prefix_does_not_allocate() {
    // A prefix claiming 2^60 items must fail on the input bound, not reserve memory.
    let mut b = nat(1 << 60);
    b.extend_from_slice(&[0; 16]);
    let s = spec();
    let mut r = Reader::new(&s, &b);
    let e = r.seq::<u64>("items", None).unwrap_err();
    assert!(
        matches!(e.kind, DecodeErrorKind::UnexpectedEnd { .. }),
        "{e}"
    );
    let e = decode_exact::<Bytes>(&s, &b).unwrap_err();
    assert!(
        matches!(e.kind, DecodeErrorKind::UnexpectedEnd { .. }),
        "{e}"
    );
}

#[test]
fn spec_maximum_is_enforced() {
    let s = spec();
    let b = [3u8, 1, 2, 3];
    let mut r = Reader::new(&s, &b);
    let e = r.seq::<u8>("tickets", Some(2)).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::LengthTooLarge {
            what: "tickets",
            len: 3,
            max: 2
        }
    );
}

#[test]
fn trailing_bytes_are_rejected_with_offset() {
    let e = decode_exact::<u16>(&spec(), &[1, 2, 3]).unwrap_err();
    assert_eq!(e.offset, 2);
    assert_eq!(e.kind, DecodeErrorKind::TrailingBytes { count: 1 });
    assert_eq!(
        e.to_string(),
        "at byte offset 2: 1 trailing octets after the value"
    );
}

#[test]
fn dictionaries_must_be_strictly_ordered() {
    let s = spec();
    let good = [2u8, 1, 10, 2, 20];
    let m: BTreeMap<u8, u8> = decode_exact(&s, &good).unwrap();
    assert_eq!(m.encode(), good);
    for bad in [[2u8, 2, 10, 1, 20], [2u8, 1, 10, 1, 20]] {
        let e = decode_exact::<BTreeMap<u8, u8>>(&s, &bad).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::NotSorted { what: "dictionary" });
        assert_eq!(e.offset, 3);
    }
}

#[test]
fn options_and_bools_reject_other_tags() {
    let s = spec();
    assert_eq!(decode_exact::<Option<u8>>(&s, &[0]).unwrap(), None);
    assert_eq!(decode_exact::<Option<u8>>(&s, &[1, 7]).unwrap(), Some(7));
    assert!(decode_exact::<Option<u8>>(&s, &[2, 7]).is_err());
    assert!(decode_exact::<bool>(&s, &[2]).is_err());
}

#[test]
fn bits_pack_lsb_first_and_reject_dirty_padding() {
    let s = spec();
    let bits = [
        true, false, true, false, false, false, false, false, false, true,
    ];
    let mut out = Vec::new();
    encode_bits(&bits, &mut out);
    assert_eq!(out, [0b0000_0101, 0b10]);
    let mut r = Reader::new(&s, &out);
    assert_eq!(r.bits(10, "bits").unwrap(), bits);
    let mut r = Reader::new(&s, &[0, 0b100]);
    assert!(r.bits(10, "bits").is_err());
}

proptest! {
    #[test]
    fn natural_round_trips(x in any::<u64>()) {
        prop_assert_eq!(read_nat(&nat(x)).unwrap(), x);
    }

    #[test]
    fn natural_decoder_is_total(b in proptest::collection::vec(any::<u8>(), 0..12)) {
        // Any input either decodes to a value that re-encodes to the bytes read, or errors.
        let s = spec();
        let mut r = Reader::new(&s, &b);
        if let Ok(x) = r.natural("n") {
            prop_assert_eq!(&nat(x)[..], &b[..r.position()]);
        }
    }

    #[test]
    fn blobs_and_seqs_round_trip(v in proptest::collection::vec(any::<u32>(), 0..300)) {
        let s = spec();
        prop_assert_eq!(decode_exact::<Vec<u32>>(&s, &v.encode()).unwrap(), v.clone());
        let b = Bytes(v.iter().map(|x| *x as u8).collect());
        prop_assert_eq!(decode_exact::<Bytes>(&s, &b.encode()).unwrap(), b);
    }
}
