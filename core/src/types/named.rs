//! The types a user can name on the command line (`tessera codec decode --type
//! work-report`) or a fuzz target can pick, with JSON ⇄ binary conversion for each.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::bounds::{Check, SpecViolation};
use crate::codec::{decode_exact, Decode, DecodeError, DecodeErrorKind, Encode};
use crate::spec::ChainSpec;

/// Why a JSON value could not be turned into a type's encoding.
#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    /// The JSON does not have the type's shape. The message is serde's, with line
    /// and column when the JSON came as text.
    #[error("invalid JSON for `{ty}`")]
    Json {
        /// The type's name.
        ty: &'static str,
        /// serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// The value has the right shape but breaks a limit of the chain spec.
    #[error("`{ty}` does not fit the {spec} chain spec")]
    Spec {
        /// The type's name.
        ty: &'static str,
        /// The spec's name.
        spec: String,
        /// Which field, and what is wrong with it.
        #[source]
        source: SpecViolation,
    },
    /// No type has this name.
    #[error("unknown type `{0}`; known types: {known}", known = NamedType::names().join(", "))]
    UnknownType(String),
}

fn decode_json<T: Decode + Serialize>(
    spec: &ChainSpec,
    bytes: &[u8],
) -> Result<Value, DecodeError> {
    let value: T = decode_exact(spec, bytes)?;
    serde_json::to_value(&value).map_err(|e| {
        DecodeError::new(
            bytes.len(),
            DecodeErrorKind::InvalidValue {
                what: "JSON form",
                reason: e.to_string(),
            },
        )
    })
}

fn encode_checked<T: Encode + Check>(
    ty: &'static str,
    spec: &ChainSpec,
    value: T,
) -> Result<Vec<u8>, TypeError> {
    value.check(spec).map_err(|source| TypeError::Spec {
        ty,
        spec: spec.name.to_string(),
        source,
    })?;
    Ok(value.encode())
}

fn encode_value<T: DeserializeOwned + Encode + Check>(
    ty: &'static str,
    spec: &ChainSpec,
    json: &Value,
) -> Result<Vec<u8>, TypeError> {
    let value = T::deserialize(json).map_err(|source| TypeError::Json { ty, source })?;
    encode_checked(ty, spec, value)
}

fn encode_text<T: DeserializeOwned + Encode + Check>(
    ty: &'static str,
    spec: &ChainSpec,
    text: &str,
) -> Result<Vec<u8>, TypeError> {
    let value = serde_json::from_str::<T>(text).map_err(|source| TypeError::Json { ty, source })?;
    encode_checked(ty, spec, value)
}

macro_rules! named_types {
    ($($variant:ident => $ty:ty, $name:literal;)+) => {
        /// A protocol type selectable by name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum NamedType {
            $(
                #[doc = concat!("[`", stringify!($ty), "`], named `", $name, "`.")]
                $variant,
            )+
        }

        impl NamedType {
            /// Every named type, in a stable order.
            pub const ALL: &'static [NamedType] = &[$(NamedType::$variant),+];

            /// The kebab-case name.
            pub fn name(self) -> &'static str {
                match self {
                    $(NamedType::$variant => $name,)+
                }
            }

            /// Decode `bytes` as one value of this type (no trailing bytes) and give
            /// its JSON form.
            pub fn decode_to_json(self, spec: &ChainSpec, bytes: &[u8]) -> Result<Value, DecodeError> {
                match self {
                    $(NamedType::$variant => decode_json::<$ty>(spec, bytes),)+
                }
            }

            /// Read a value of this type from its JSON form, check it against
            /// `spec`, and encode it.
            pub fn encode_from_json(self, spec: &ChainSpec, json: &Value) -> Result<Vec<u8>, TypeError> {
                match self {
                    $(NamedType::$variant => encode_value::<$ty>($name, spec, json),)+
                }
            }

            /// As [`encode_from_json`](Self::encode_from_json), from JSON text, so
            /// that shape errors carry a line and column.
            pub fn encode_from_json_str(self, spec: &ChainSpec, text: &str) -> Result<Vec<u8>, TypeError> {
                match self {
                    $(NamedType::$variant => encode_text::<$ty>($name, spec, text),)+
                }
            }
        }
    };
}

named_types! {
    Header => super::Header, "header";
    Block => super::Block, "block";
    Extrinsic => super::Extrinsic, "extrinsic";
    TicketsExtrinsic => super::TicketsExtrinsic, "tickets-extrinsic";
    PreimagesExtrinsic => super::PreimagesExtrinsic, "preimages-extrinsic";
    GuaranteesExtrinsic => super::GuaranteesExtrinsic, "guarantees-extrinsic";
    AssurancesExtrinsic => super::AssurancesExtrinsic, "assurances-extrinsic";
    DisputesExtrinsic => super::DisputesExtrinsic, "disputes-extrinsic";
    WorkPackage => super::WorkPackage, "work-package";
    WorkItem => super::WorkItem, "work-item";
    WorkReport => super::WorkReport, "work-report";
    WorkResult => super::WorkResult, "work-result";
    RefineContext => super::RefineContext, "refine-context";
    RefineLoad => super::RefineLoad, "refine-load";
    AvailabilitySpec => super::AvailabilitySpec, "availability-spec";
    EpochMark => super::EpochMark, "epoch-mark";
    TicketsMark => super::TicketsMark, "tickets-mark";
    TicketBody => super::TicketBody, "ticket-body";
    TicketEnvelope => super::TicketEnvelope, "ticket-envelope";
    Preimage => super::Preimage, "preimage";
    Guarantee => super::Guarantee, "guarantee";
    Assurance => super::Assurance, "assurance";
    Verdict => super::Verdict, "verdict";
    Culprit => super::Culprit, "culprit";
    Fault => super::Fault, "fault";
    ValidatorData => super::ValidatorData, "validator-data";
}

impl NamedType {
    /// Every name, in the order of [`NamedType::ALL`].
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|t| t.name()).collect()
    }
}

impl fmt::Display for NamedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NamedType {
    type Err = TypeError;

    fn from_str(s: &str) -> Result<Self, TypeError> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .ok_or_else(|| TypeError::UnknownType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests;
