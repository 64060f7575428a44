//! The shape every STF vector case shares (`stf/<component>/{tiny,full}`), and the
//! suite that runs one component's folder. Included by the `stf_*` suites of the
//! history, statistics, authorizations and preimages components.
//!
//! A case is `{input, pre_state, output, post_state}`, encoded as those four in
//! turn. In `tiny` each case is a `.bin` and a `.json`: both are read, the `.bin` is
//! decoded strictly and re-encoded to the same octets, and it must equal the parsed
//! JSON. In `full` only the `.bin` exists. The transition then runs on the decoded
//! case: an `ok` vector must match output and post-state exactly; an `err` vector
//! must name the same error, its post-state must equal its pre-state, and the
//! prior state handed to the transition must be unchanged.

#![allow(dead_code)]

use std::fmt::Debug;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use tessera_conformance::{ensure_eq, fail, vectors_required, vectors_root};
use tessera_conformance::{CaseCtx, CaseError, Outcome, Suite};
use tessera_core::codec::{decode_exact, Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use tessera_core::ChainSpec;

/// One vector case.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestCase<I, S, O> {
    /// The block's input to the transition.
    pub(crate) input: I,
    /// The prior state part.
    pub(crate) pre_state: S,
    /// The expected output (or error).
    pub(crate) output: O,
    /// The expected posterior state part.
    pub(crate) post_state: S,
}

impl<I: Encode, S: Encode, O: Encode> Encode for TestCase<I, S, O> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.input.encode_to(out);
        self.pre_state.encode_to(out);
        self.output.encode_to(out);
        self.post_state.encode_to(out);
    }
}

impl<I: Decode, S: Decode, O: Decode> Decode for TestCase<I, S, O> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TestCase {
            input: I::decode(r)?,
            pre_state: S::decode(r)?,
            output: O::decode(r)?,
            post_state: S::decode(r)?,
        })
    }
}

/// The `output` of a component whose schema says `Output ::= NULL`: JSON `null`,
/// no octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct Null;

impl Encode for Null {
    fn encode_to(&self, _: &mut Vec<u8>) {}
}

impl Decode for Null {
    fn decode(_: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Null)
    }
}

/// The `output` of a component with error codes: `{"ok": O}` or `{"err": code}`,
/// encoded as a choice octet (0 ok, 1 err) and the alternative.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum VectorResult<O, E> {
    /// The transition succeeded with this output.
    Ok(O),
    /// The transition failed with this error code.
    Err(E),
}

impl<O: Encode, E: Encode> Encode for VectorResult<O, E> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            VectorResult::Ok(o) => {
                out.push(0);
                o.encode_to(out);
            }
            VectorResult::Err(e) => {
                out.push(1);
                e.encode_to(out);
            }
        }
    }
}

impl<O: Decode, E: Decode> Decode for VectorResult<O, E> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("output choice")? {
            0 => O::decode(r).map(VectorResult::Ok),
            1 => E::decode(r).map(VectorResult::Err),
            tag => Err(r.err(DecodeErrorKind::InvalidTag {
                what: "output choice",
                tag,
            })),
        }
    }
}

/// A vector's `output` as the result the transition should give.
pub(crate) trait Expected<O, E> {
    /// The result the vector expects.
    fn expected(&self) -> Result<O, E>;
}

impl<E> Expected<(), E> for Null {
    fn expected(&self) -> Result<(), E> {
        Ok(())
    }
}

impl<E: Clone> Expected<(), E> for VectorResult<Null, E> {
    fn expected(&self) -> Result<(), E> {
        match self {
            VectorResult::Ok(Null) => Ok(()),
            VectorResult::Err(e) => Err(e.clone()),
        }
    }
}

/// One state-transition component as its vectors see it.
pub(crate) trait Component: Sync {
    /// The vectors' `Input`.
    type Input: Encode + Decode + DeserializeOwned + Debug + PartialEq;
    /// The vectors' `State`.
    type State: Encode + Decode + DeserializeOwned + Debug + PartialEq + Clone;
    /// What the transition outputs on success.
    type Output: Debug + PartialEq;
    /// The transition's error.
    type Error: Debug + PartialEq;
    /// The vectors' `Output` field.
    type VectorOutput: Encode
        + Decode
        + DeserializeOwned
        + Debug
        + PartialEq
        + Expected<Self::Output, Self::Error>;

    /// The transition under test.
    fn apply(
        spec: &ChainSpec,
        pre: &Self::State,
        input: &Self::Input,
    ) -> Result<(Self::State, Self::Output), Self::Error>;
}

/// A case of component `C`.
pub(crate) type Case<C> =
    TestCase<<C as Component>::Input, <C as Component>::State, <C as Component>::VectorOutput>;

/// Run the transition on `case` and check it against the case's expectations.
pub(crate) fn check_case<C: Component>(spec: &ChainSpec, case: &Case<C>) -> Result<(), CaseError> {
    let pre_before = case.pre_state.clone();
    let got = C::apply(spec, &case.pre_state, &case.input);
    ensure_eq!(
        case.pre_state,
        pre_before,
        "the transition changed its prior state"
    );
    match (got, case.output.expected()) {
        (Ok((post, output)), Ok(want)) => {
            ensure_eq!(output, want, "output");
            ensure_eq!(post, case.post_state, "post-state");
        }
        (Err(got), Err(want)) => {
            ensure_eq!(got, want, "error");
            ensure_eq!(
                case.post_state,
                case.pre_state,
                "the vector's post-state after an error differs from its pre-state"
            );
        }
        (Ok(_), Err(want)) => fail!("expected error {want:?}, the transition succeeded"),
        (Err(got), Ok(_)) => fail!("expected success, the transition failed with {got:?}"),
    }
    Ok(())
}

/// Read one case: the `.bin` (decoded strictly, re-encoded to the same octets) and,
/// with `json`, its `.json` twin, which must hold the same value.
pub(crate) fn read_case<C: Component>(
    ctx: &CaseCtx<'_>,
    spec: &ChainSpec,
    bin_file: &str,
    json: bool,
) -> Result<Case<C>, CaseError> {
    let bin = ctx.read(bin_file)?;
    let case: Case<C> =
        decode_exact(spec, &bin).map_err(|e| CaseError(format!("decode {bin_file}: {e}")))?;
    let reencoded = case.encode();
    if reencoded != bin {
        fail!(
            "re-encoding differs: {} octets vs {}, first difference at {:?}",
            reencoded.len(),
            bin.len(),
            reencoded.iter().zip(&bin).position(|(a, b)| a != b)
        );
    }
    if json {
        let json_file = bin_file
            .strip_suffix(".bin")
            .map(|stem| format!("{stem}.json"))
            .ok_or_else(|| CaseError(format!("{bin_file} is not a .bin")))?;
        let from_json: Case<C> = ctx.read_json(&json_file)?;
        ensure_eq!(
            from_json,
            case,
            "{json_file} and {bin_file} hold different cases"
        );
    }
    Ok(case)
}

/// The suite of one component folder.
pub(crate) struct StfSuite<C> {
    folder: String,
    spec: ChainSpec,
    json: bool,
    component: PhantomData<fn() -> C>,
}

impl<C: Component> StfSuite<C> {
    /// `stf/<component>/tiny`, with `.json` twins.
    pub(crate) fn tiny(component: &str) -> Self {
        StfSuite {
            folder: format!("stf/{component}/tiny"),
            spec: ChainSpec::tiny(),
            json: true,
            component: PhantomData,
        }
    }

    /// `stf/<component>/full`, `.bin` only.
    pub(crate) fn full(component: &str) -> Self {
        StfSuite {
            folder: format!("stf/{component}/full"),
            spec: ChainSpec::full(),
            json: false,
            component: PhantomData,
        }
    }
}

impl<C: Component> Suite for StfSuite<C> {
    fn folder(&self) -> &str {
        &self.folder
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(".bin")
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let case = read_case::<C>(ctx, &self.spec, file, self.json)?;
        check_case::<C>(&self.spec, &case)?;
        Ok(Outcome::Passed)
    }
}

/// Load the tiny case `file` of `component`, corrupt its expected values with
/// `corrupt`, and assert the check now fails. `None` (after a loud message) when
/// the vectors are absent and not required.
pub(crate) fn corrupted_case_fails<C: Component>(
    component: &str,
    file: &str,
    corrupt: impl FnOnce(&mut Case<C>),
) {
    let path = vectors_root().join("stf").join(component).join("tiny");
    if !path.join(file).is_file() {
        assert!(
            !vectors_required(),
            "JAM_VECTORS_REQUIRED=1 but {} is missing",
            path.join(file).display()
        );
        eprintln!("\n!!!!!!!! SKIPPED corruption test: {file} not found !!!!!!!!\n");
        return;
    }
    let spec = ChainSpec::tiny();
    let bin = std::fs::read(path.join(file)).expect("read the vector");
    let mut case: Case<C> = decode_exact(&spec, &bin).expect("decode the vector");
    check_case::<C>(&spec, &case).expect("the untouched case passes");
    corrupt(&mut case);
    let err = check_case::<C>(&spec, &case).expect_err("the corrupted case must fail");
    eprintln!(
        "[{}] corrupted {file} fails as it should: {err}",
        path_label(&path)
    );
}

fn path_label(p: &Path) -> String {
    p.display().to_string()
}
