//! The derives against the primitives they stand for: each attribute must give the
//! octets and the decode errors of the hand-written call it replaces.

use std::collections::BTreeMap;

use super::*;
use crate::hash::Hash;
use crate::types::{Bound, Check, SpecViolation, ViolationKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Check)]
struct Entry {
    key: u8,
    value: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Check)]
struct Sample {
    plain: Hash,
    #[codec(compact, name = "small")]
    small: u16,
    #[codec(fixed, name = "four octets")]
    fixed: u32,
    #[codec(len = spec.cores())]
    per_core: Vec<u8>,
    #[codec(seq, max = 3, name = "items")]
    items: Vec<u16>,
    #[codec(seq, sorted, name = "set")]
    set: Vec<u8>,
    #[codec(seq, sorted_by = key, name = "entries")]
    entries: Vec<Entry>,
    #[codec(dict, name = "map")]
    map: BTreeMap<u8, u32>,
    #[codec(optional, compact, name = "maybe")]
    maybe: Option<u64>,
}

fn sample(spec: &ChainSpec) -> Sample {
    Sample {
        plain: crate::bytes::ByteArray([0; 32]),
        small: 300,
        fixed: 7,
        per_core: vec![9; spec.cores()],
        items: vec![1, 2],
        set: vec![1, 4],
        entries: vec![Entry { key: 1, value: 5 }, Entry { key: 2, value: 5 }],
        map: BTreeMap::from([(1, 10), (3, 30)]),
        maybe: Some(200),
    }
}

/// What the attributes stand for, written with the primitives.
fn by_hand(v: &Sample) -> Vec<u8> {
    let mut out = Vec::new();
    v.plain.encode_to(&mut out);
    encode_natural(v.small.into(), &mut out);
    encode_fixed(v.fixed.into(), 4, &mut out);
    encode_fixed_seq(&v.per_core, &mut out);
    encode_seq(&v.items, &mut out);
    encode_seq(&v.set, &mut out);
    encode_seq(&v.entries, &mut out);
    v.map.encode_to(&mut out);
    match v.maybe {
        None => out.push(0),
        Some(x) => {
            out.push(1);
            encode_natural(x, &mut out);
        }
    }
    out
}

#[test]
fn struct_attributes_encode_as_their_primitives_and_round_trip() {
    let spec = ChainSpec::tiny();
    let v = sample(&spec);
    let bytes = v.encode();
    assert_eq!(bytes, by_hand(&v));
    assert_eq!(decode_exact::<Sample>(&spec, &bytes), Ok(v.clone()));
    let none = Sample { maybe: None, ..v };
    assert_eq!(
        decode_exact::<Sample>(&spec, &none.encode()),
        Ok(none.clone())
    );
    assert_eq!(none.encode(), by_hand(&none));
}

/// Decode `bytes` after `v`'s encoding has been altered by `edit`.
fn decode_edited(edit: impl FnOnce(&mut Sample)) -> DecodeError {
    let spec = ChainSpec::tiny();
    let mut v = sample(&spec);
    edit(&mut v);
    decode_exact::<Sample>(&spec, &by_hand(&v)).unwrap_err()
}

#[test]
fn decode_errors_name_the_field_and_point_at_it() {
    // Past the bound of `seq, max`: refused at the prefix, before any item is read.
    let e = decode_edited(|v| v.items = vec![0; 4]);
    let items_at = 32 + 2 + 4 + ChainSpec::tiny().cores();
    assert_eq!(e.offset, items_at);
    assert!(matches!(
        e.kind,
        DecodeErrorKind::LengthTooLarge {
            what: "items",
            len: 4,
            max: 3
        }
    ));
    // `sorted` compares whole items, each at its own offset.
    let e = decode_edited(|v| v.set = vec![4, 1]);
    assert!(matches!(e.kind, DecodeErrorKind::NotSorted { what: "set" }));
    // `sorted_by` compares keys after the whole sequence is read, at its prefix.
    let e = decode_edited(|v| v.entries.reverse());
    assert!(matches!(
        e.kind,
        DecodeErrorKind::NotSorted { what: "entries" }
    ));
    // A compact natural the field cannot hold.
    let spec = ChainSpec::tiny();
    let mut bytes = vec![0; 32];
    encode_natural(1 << 16, &mut bytes);
    let e = decode_exact::<Sample>(&spec, &bytes).unwrap_err();
    assert_eq!(e.offset, 32);
    assert!(matches!(
        e.kind,
        DecodeErrorKind::InvalidValue { what: "small", .. }
    ));
    // A fixed-width field cut short.
    bytes.truncate(32);
    bytes.extend_from_slice(&[0, 1, 2]);
    let e = decode_exact::<Sample>(&spec, &bytes).unwrap_err();
    assert!(matches!(
        e.kind,
        DecodeErrorKind::UnexpectedEnd {
            what: "four octets",
            ..
        }
    ));
}

#[test]
fn optional_attribute_rejects_other_discriminators() {
    let spec = ChainSpec::tiny();
    let mut bytes = sample(&spec).encode();
    let at = bytes.len() - 3; // `1`, then 200 as a two-octet natural
    bytes[at] = 2;
    let e = decode_exact::<Sample>(&spec, &bytes).unwrap_err();
    assert_eq!(e.offset, at);
    assert!(matches!(e.kind, DecodeErrorKind::InvalidTag { tag: 2, .. }));
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Check)]
#[codec(tag_name = "shape tag", what = "shape (0, 1 or 5)")]
enum Shape {
    Empty,
    Pair(u8, #[codec(compact, name = "width")] u32),
    #[codec(tag = 5)]
    Named {
        #[codec(len = 2)]
        corners: Vec<u8>,
    },
}

#[test]
fn enums_lead_with_their_tag() {
    let spec = ChainSpec::tiny();
    let cases = [
        (Shape::Empty, vec![0]),
        (Shape::Pair(7, 128), vec![1, 7, 0x80, 0x80]),
        (
            Shape::Named {
                corners: vec![3, 4],
            },
            vec![5, 3, 4],
        ),
    ];
    for (shape, bytes) in cases {
        assert_eq!(shape.encode(), bytes);
        assert_eq!(decode_exact::<Shape>(&spec, &bytes), Ok(shape));
    }
    let e = decode_exact::<Shape>(&spec, &[2]).unwrap_err();
    assert_eq!(
        e,
        DecodeError::new(
            0,
            DecodeErrorKind::InvalidTag {
                what: "shape (0, 1 or 5)",
                tag: 2
            }
        )
    );
    let e = decode_exact::<Shape>(&spec, &[]).unwrap_err();
    assert!(matches!(
        e.kind,
        DecodeErrorKind::UnexpectedEnd {
            what: "shape tag",
            ..
        }
    ));
}

#[test]
fn check_follows_the_length_attributes_and_names_the_path() {
    let spec = ChainSpec::tiny();
    let mut v = sample(&spec);
    assert_eq!(v.check(&spec), Ok(()));
    v.items.push(3);
    v.items.push(4);
    assert_eq!(
        v.check(&spec),
        Err(SpecViolation::new(ViolationKind::Length {
            len: 4,
            expected: Bound::AtMost(3),
        })
        .within("items"))
    );
    let bad = Shape::Named { corners: vec![1] };
    assert_eq!(
        bad.check(&spec).unwrap_err().to_string(),
        "corners: length 1, expected exactly 2"
    );
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Check)]
struct Nested(#[codec(len = 2, each(seq, max = 2, name = "inner"))] Vec<Vec<u8>>);

#[test]
fn each_describes_the_items_of_a_fixed_length_sequence() {
    let spec = ChainSpec::tiny();
    let v = Nested(vec![vec![1], vec![2, 3]]);
    assert_eq!(v.encode(), [1, 1, 2, 2, 3]);
    assert_eq!(decode_exact::<Nested>(&spec, &[1, 1, 2, 2, 3]), Ok(v));
    let e = decode_exact::<Nested>(&spec, &[0, 3, 1, 2, 3]).unwrap_err();
    assert_eq!(e.offset, 1);
    assert!(matches!(
        e.kind,
        DecodeErrorKind::LengthTooLarge { what: "inner", .. }
    ));
    assert_eq!(
        Nested(vec![vec![], vec![0; 3]])
            .check(&spec)
            .unwrap_err()
            .to_string(),
        "[1]: length 3, expected at most 2"
    );
}
