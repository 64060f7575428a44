//! The shared machinery of the STF suites (`stf_*.rs`): the vectors' test-case
//! container `{input, pre_state, output, post_state}` with its codec and JSON
//! forms, the per-case checks, and the corruption check that proves the
//! comparison is real.
//!
//! A tiny case is `NAME.json` and `NAME.bin`: the `.bin` is decoded strictly,
//! must re-encode to the same octets and must equal the parsed JSON, so both
//! files are consumed honestly. A full case is its `.bin` alone.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_conformance::{fail, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::codec::{decode_exact, Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use tessera_core::ChainSpec;
use tessera_state::error_code::ErrorCode;

/// One STF component as the suites see it.
pub trait Component: Sync {
    /// The block data consumed.
    type Input: Clone + Debug + PartialEq + Encode + Decode + Serialize + DeserializeOwned;
    /// The state part read and written.
    type State: Clone + Debug + PartialEq + Encode + Decode + Serialize + DeserializeOwned;
    /// The output on success.
    type Output: Clone + Debug + PartialEq + Encode + Decode + Serialize + DeserializeOwned;
    /// The typed error.
    type Error: Clone + Debug + PartialEq + ErrorCode + Serialize + DeserializeOwned;

    /// The component's pure transition.
    fn apply(
        spec: &ChainSpec,
        pre: &Self::State,
        input: &Self::Input,
    ) -> Result<(Self::State, Self::Output), Self::Error>;
}

/// The vectors' `Output ::= CHOICE { ok OutputData, err ErrorCode }`: tag 0 then
/// the data, or tag 1 then the error code octet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StfOutput<O, E> {
    /// The transition succeeded with this output.
    Ok(O),
    /// The transition failed with this error.
    Err(E),
}

impl<O: Encode, E: ErrorCode> Encode for StfOutput<O, E> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            StfOutput::Ok(o) => {
                out.push(0);
                o.encode_to(out);
            }
            StfOutput::Err(e) => {
                out.push(1);
                out.push(e.code());
            }
        }
    }
}

impl<O: Decode, E: ErrorCode> Decode for StfOutput<O, E> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        match r.u8("output tag")? {
            0 => O::decode(r).map(StfOutput::Ok),
            1 => {
                let at = r.position();
                let code = r.u8("error code")?;
                E::from_code(code).map(StfOutput::Err).ok_or_else(|| {
                    DecodeError::new(
                        at,
                        DecodeErrorKind::InvalidTag {
                            what: "error code",
                            tag: code,
                        },
                    )
                })
            }
            tag => Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidTag {
                    what: "output (ok or err)",
                    tag,
                },
            )),
        }
    }
}

/// A vector's test case, `E(input, pre_state, output, post_state)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StfCase<I, S, O, E> {
    /// The block data.
    pub input: I,
    /// The prior state part.
    pub pre_state: S,
    /// The expected output or error.
    pub output: StfOutput<O, E>,
    /// The expected posterior state part (equal to `pre_state` on error).
    pub post_state: S,
}

impl<I: Encode, S: Encode, O: Encode, E: ErrorCode> Encode for StfCase<I, S, O, E> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.input.encode_to(out);
        self.pre_state.encode_to(out);
        self.output.encode_to(out);
        self.post_state.encode_to(out);
    }
}

impl<I: Decode, S: Decode, O: Decode, E: ErrorCode> Decode for StfCase<I, S, O, E> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(StfCase {
            input: Decode::decode(r)?,
            pre_state: Decode::decode(r)?,
            output: Decode::decode(r)?,
            post_state: Decode::decode(r)?,
        })
    }
}

/// The case type of component `C`.
pub type CaseOf<C> = StfCase<
    <C as Component>::Input,
    <C as Component>::State,
    <C as Component>::Output,
    <C as Component>::Error,
>;

/// The first path at which two JSON values differ, for readable failures on
/// states too large to print whole.
pub fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: missing on the right")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}: missing on the left"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: length {} vs {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Fail unless `got == want`, naming the first differing field.
pub fn ensure_same<T: PartialEq + Serialize>(
    got: &T,
    want: &T,
    what: &str,
) -> Result<(), CaseError> {
    if got == want {
        return Ok(());
    }
    let (g, w) = (serde_json::to_value(got)?, serde_json::to_value(want)?);
    let at = first_difference(&g, &w, what).unwrap_or_else(|| what.to_owned());
    fail!("{what} differs (ours vs vector) at {at}")
}

/// Run a case: apply the transition to the pre-state and compare with the vector.
pub fn check<C: Component>(spec: &ChainSpec, case: &CaseOf<C>) -> Result<(), CaseError> {
    let pre = case.pre_state.clone();
    let result = C::apply(spec, &pre, &case.input);
    ensure_same(&pre, &case.pre_state, "pre_state (after apply)")?;
    match (&case.output, result) {
        (StfOutput::Ok(want), Ok((post, got))) => {
            ensure_same(&got, want, "output")?;
            ensure_same(&post, &case.post_state, "post_state")
        }
        (StfOutput::Err(want), Err(got)) => {
            if got != *want {
                fail!("error {got:?}, the vector expects {want:?}");
            }
            // On error the state is untouched: the vector must say so too.
            ensure_same(&case.post_state, &case.pre_state, "post_state vs pre_state")
        }
        (StfOutput::Ok(_), Err(got)) => fail!("error {got:?}, the vector expects success"),
        (StfOutput::Err(want), Ok(_)) => fail!("success, the vector expects error {want:?}"),
    }
}

/// Read and decode a case: `.bin` always; for tiny also the `.json`, which must
/// hold the same value.
pub fn load<C: Component>(
    ctx: &CaseCtx<'_>,
    spec: &ChainSpec,
    file: &str,
) -> Result<CaseOf<C>, CaseError> {
    let stem = file
        .strip_suffix(".bin")
        .or_else(|| file.strip_suffix(".json"))
        .unwrap_or(file);
    let bin = ctx.read(format!("{stem}.bin"))?;
    let case: CaseOf<C> =
        decode_exact(spec, &bin).map_err(|e| CaseError(format!("{stem}.bin: decode: {e}")))?;
    if case.encode() != bin {
        fail!("{stem}.bin: re-encoding differs from the file");
    }
    if file.ends_with(".json") {
        let from_json: CaseOf<C> = ctx.read_json(file)?;
        ensure_same(&from_json, &case, "json vs bin")?;
    }
    Ok(case)
}

/// A folder of STF vectors of component `C`.
pub struct StfSuite<C> {
    /// `stf/<component>/<tiny|full>`.
    pub folder: String,
    /// The chain spec of the folder.
    pub spec: ChainSpec,
    _component: std::marker::PhantomData<C>,
}

impl<C: Component> StfSuite<C> {
    /// The suite of `stf/<component>/<spec>`.
    pub fn new(component: &str, spec: ChainSpec) -> Self {
        StfSuite {
            folder: format!("stf/{component}/{}", spec.name),
            spec,
            _component: std::marker::PhantomData,
        }
    }

    fn tiny(&self) -> bool {
        self.spec.name == tessera_core::spec::SpecName::Tiny
    }
}

impl<C: Component> Suite for StfSuite<C> {
    fn folder(&self) -> &str {
        &self.folder
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(if self.tiny() { ".json" } else { ".bin" })
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let case = load::<C>(ctx, &self.spec, file)?;
        check::<C>(&self.spec, &case)?;
        Ok(Outcome::Passed)
    }
}

/// Flip one nibble of the first hex string in `v` (or bump the first number);
/// `true` if something was changed.
fn corrupt(v: &mut Value) -> bool {
    match v {
        Value::String(s) if s.len() > 2 && s.starts_with("0x") => {
            let last = s.pop().unwrap_or('0');
            s.push(if last == '0' { '1' } else { '0' });
            true
        }
        Value::Number(n) => {
            *v = Value::from(n.as_u64().unwrap_or(0) + 1);
            true
        }
        Value::Array(items) => items.iter_mut().any(corrupt),
        Value::Object(map) => map.values_mut().any(corrupt),
        _ => false,
    }
}

/// Proof that the comparison is real: take the tiny case `name` (which must
/// pass), change one value of its expected post-state in memory, and require the
/// check to fail.
pub fn corrupted_post_state_fails<C: Component>(component: &str, name: &str) {
    let spec = ChainSpec::tiny();
    let path =
        tessera_conformance::vectors_root().join(format!("stf/{component}/tiny/{name}.json"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(
            !tessera_conformance::vectors_required(),
            "missing {}",
            path.display()
        );
        return;
    };
    let case: CaseOf<C> = serde_json::from_str(&text).expect("case parses");
    check::<C>(&spec, &case).expect("the unmodified case passes");
    let mut post = serde_json::to_value(&case.post_state).expect("post-state serializes");
    assert!(corrupt(&mut post), "nothing to corrupt in {name}");
    let mut bad = case.clone();
    bad.post_state = serde_json::from_value(post).expect("corrupted post-state parses");
    assert_ne!(bad.post_state, case.post_state);
    assert!(
        check::<C>(&spec, &bad).is_err(),
        "{name}: a corrupted post-state still passes"
    );
}
