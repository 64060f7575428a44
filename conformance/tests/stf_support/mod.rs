//! The shared machinery of the STF suites (`stf_*.rs`): the vectors' test-case
//! container `{input, pre_state, output, post_state}` with its codec and JSON
//! forms, the per-case checks, the suite that runs one component's folder, and
//! the corruption checks that prove the comparison is real.
//!
//! A case is `{input, pre_state, output, post_state}`, encoded as those four in
//! turn. In `tiny` each case is a `.bin` and a `.json`: both are read, the `.bin`
//! is decoded strictly and re-encoded to the same octets, and it must equal the
//! parsed JSON. In `full` only the `.bin` exists. The transition then runs on the
//! decoded case: an `ok` vector must match output and post-state exactly; an
//! `err` vector must name the same error, its post-state must equal its
//! pre-state, and the prior state handed to the transition must be unchanged.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Debug;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_conformance::{fail, vectors_required, vectors_root};
use tessera_conformance::{CaseCtx, CaseError, Outcome, Suite};
use tessera_core::codec::{decode_exact, Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use tessera_core::spec::SpecName;
use tessera_core::ChainSpec;
use tessera_state::stf::error_code::ErrorCode;

/// Declare the [`Component`] `Name` and its two suites, the tests `tiny` and
/// `full`, from the one line that names the component's module in
/// `tessera_state::stf` and its vectors' types there:
///
/// ```ignore
/// stf_component! {
///     History: history::{Input, State, Output, Error},
///     vector_output: Null,
/// }
/// ```
///
/// The vectors are `stf/<module>/{tiny,full}` (every folder is named as its
/// module) and the transition is `<module>::apply`. A component whose
/// transition yields its posterior state in another form names that type of
/// its module, `post: ItemState`, converted `From` the vectors' state; by
/// default the post-state is compared as the vectors' state itself.
macro_rules! stf_component {
    (
        $name:ident: $module:ident::{$input:ident, $state:ident, $output:ident, $error:ident},
        vector_output: $vector_output:ty $(,)?
    ) => {
        stf_component!(@impl $name, $module, $input, $state, $state,
            <$module::$state as ::std::clone::Clone>::clone, $output, $error, $vector_output);
    };
    (
        $name:ident: $module:ident::{$input:ident, $state:ident, $output:ident, $error:ident},
        post: $post:ident,
        vector_output: $vector_output:ty $(,)?
    ) => {
        stf_component!(@impl $name, $module, $input, $state, $post,
            <$module::$post>::from, $output, $error, $vector_output);
    };
    (
        @impl $name:ident, $module:ident, $input:ident, $state:ident, $post:ident,
        $expected:expr, $output:ident, $error:ident, $vector_output:ty
    ) => {
        struct $name;

        impl crate::stf_support::Component for $name {
            const FOLDER: &'static str = stringify!($module);
            type Input = $module::$input;
            type State = $module::$state;
            type Post = $module::$post;
            type Output = $module::$output;
            type Error = $module::$error;
            type VectorOutput = $vector_output;

            fn apply(
                spec: &tessera_core::ChainSpec,
                pre: &$module::$state,
                input: &$module::$input,
            ) -> Result<($module::$post, $module::$output), $module::$error> {
                $module::apply(spec, pre, input)
            }

            fn expected_post(state: &$module::$state) -> $module::$post {
                ($expected)(state)
            }
        }

        #[test]
        fn tiny() {
            crate::stf_support::run_suite::<$name>(tessera_core::ChainSpec::tiny());
        }

        #[test]
        fn full() {
            crate::stf_support::run_suite::<$name>(tessera_core::ChainSpec::full());
        }
    };
}

pub mod backends;

/// Components whose transition runs service code on the PVM: their suites run on
/// every backend (issue 21).
const RUNS_SERVICE_CODE: &[&str] = &["accumulate"];

/// Run component `C`'s suite for `spec` (once per PVM backend if it runs code).
pub fn run_suite<C: Component>(spec: tessera_core::ChainSpec) {
    let suite = StfSuite::<C>::new(spec);
    if RUNS_SERVICE_CODE.contains(&C::FOLDER) {
        backends::on_each_backend(C::FOLDER, || tessera_conformance::run(&suite));
    } else {
        tessera_conformance::run(&suite);
    }
}

/// One STF component as its vectors see it.
pub trait Component: Sync {
    /// The component's folder, `stf/<FOLDER>/{tiny,full}`.
    const FOLDER: &'static str;
    /// The vectors' `Input`.
    type Input: Clone + Debug + PartialEq + Encode + Decode + Serialize + DeserializeOwned;
    /// The vectors' `State`: the state part read and written.
    type State: Clone + Debug + PartialEq + Encode + Decode + Serialize + DeserializeOwned;
    /// The posterior state as the transition yields it.
    type Post: Debug + PartialEq + Serialize;
    /// What the transition outputs on success.
    type Output: Debug + PartialEq + Serialize;
    /// The transition's error.
    type Error: Debug + PartialEq;
    /// The vectors' `Output` field.
    type VectorOutput: Clone
        + Debug
        + PartialEq
        + Encode
        + Decode
        + Serialize
        + DeserializeOwned
        + Expected<Self::Output, Self::Error>;

    /// The component's pure transition.
    fn apply(
        spec: &ChainSpec,
        pre: &Self::State,
        input: &Self::Input,
    ) -> Result<(Self::Post, Self::Output), Self::Error>;

    /// A vector's posterior state in the form the transition yields it.
    fn expected_post(state: &Self::State) -> Self::Post;
}

/// The `output` of a component whose schema says `Output ::= NULL`: JSON `null`,
/// no octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct Null;

/// The vectors' `Output ::= CHOICE { ok OutputData, err ErrorCode }`: JSON
/// `{"ok": O}` or `{"err": "code_name"}`; tag 0 then the data, or tag 1 then the
/// error code octet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum VectorResult<O, E> {
    /// The transition succeeded with this output.
    Ok(O),
    /// The transition failed with this error.
    Err(E),
}

// Written by hand: the error arm is one code octet that `E: ErrorCode` maps, not
// an encoded value.
impl<O: Encode, E: ErrorCode> Encode for VectorResult<O, E> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            VectorResult::Ok(o) => {
                out.push(0);
                o.encode_to(out);
            }
            VectorResult::Err(e) => {
                out.push(1);
                out.push(e.code());
            }
        }
    }
}

impl<O: Decode, E: ErrorCode> Decode for VectorResult<O, E> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        match r.u8("output tag")? {
            0 => O::decode(r).map(VectorResult::Ok),
            1 => {
                let at = r.position();
                let code = r.u8("error code")?;
                E::from_code(code).map(VectorResult::Err).ok_or_else(|| {
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

/// A vector's `output` as the result the transition should give.
pub trait Expected<O, E> {
    /// The result the vector expects.
    fn expected(&self) -> Result<O, E>;
}

impl<E> Expected<(), E> for Null {
    fn expected(&self) -> Result<(), E> {
        Ok(())
    }
}

impl<O: Clone, E: Clone> Expected<O, E> for VectorResult<O, E> {
    fn expected(&self) -> Result<O, E> {
        match self {
            VectorResult::Ok(o) => Ok(o.clone()),
            VectorResult::Err(e) => Err(e.clone()),
        }
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

/// A vector's test case, `E(input, pre_state, output, post_state)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct TestCase<I, S, O> {
    /// The block data.
    pub input: I,
    /// The prior state part.
    pub pre_state: S,
    /// The expected output (or error).
    pub output: O,
    /// The expected posterior state part (equal to `pre_state` on error).
    pub post_state: S,
}

/// A case of component `C`.
pub type Case<C> =
    TestCase<<C as Component>::Input, <C as Component>::State, <C as Component>::VectorOutput>;

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

/// Run the transition on `case` and check it against the case's expectations.
pub fn check_case<C: Component>(spec: &ChainSpec, case: &Case<C>) -> Result<(), CaseError> {
    let pre_before = case.pre_state.clone();
    let got = C::apply(spec, &case.pre_state, &case.input);
    ensure_same(&case.pre_state, &pre_before, "pre_state (after apply)")?;
    match (got, case.output.expected()) {
        (Ok((post, output)), Ok(want)) => {
            ensure_same(&output, &want, "output")?;
            ensure_same(&post, &C::expected_post(&case.post_state), "post_state")
        }
        (Err(got), Err(want)) => {
            if got != want {
                fail!("error {got:?}, the vector expects {want:?}");
            }
            // On error the state is untouched: the vector must say so too.
            ensure_same(&case.post_state, &case.pre_state, "post_state vs pre_state")
        }
        (Ok(_), Err(want)) => fail!("success, the vector expects error {want:?}"),
        (Err(got), Ok(_)) => fail!("error {got:?}, the vector expects success"),
    }
}

/// Read one case: the `.bin` (decoded strictly, re-encoded to the same octets)
/// and, with `json`, its `.json` twin, which must hold the same value.
pub fn read_case<C: Component>(
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
            "{bin_file}: re-encoding differs: {} octets vs {}, first difference at {:?}",
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
        ensure_same(&from_json, &case, "json vs bin")?;
    }
    Ok(case)
}

/// The suite of one component folder, `stf/<C::FOLDER>/<spec>`.
pub struct StfSuite<C> {
    folder: String,
    spec: ChainSpec,
    component: PhantomData<fn() -> C>,
}

impl<C: Component> StfSuite<C> {
    /// The suite of `stf/<C::FOLDER>/<spec>`; `tiny` cases have `.json` twins.
    pub fn new(spec: ChainSpec) -> Self {
        StfSuite {
            folder: format!("stf/{}/{}", C::FOLDER, spec.name),
            spec,
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
        let json = self.spec.name == SpecName::Tiny;
        let case = read_case::<C>(ctx, &self.spec, file, json)?;
        check_case::<C>(&self.spec, &case)?;
        Ok(Outcome::Passed)
    }
}

/// Load the tiny case `file` of `C`, require it to pass, change its expected
/// values with `corrupt`, and require the check to fail. Skips (loudly) when the
/// vectors are absent and not required.
pub fn corrupted_case_fails<C: Component>(file: &str, corrupt: impl FnOnce(&mut Case<C>)) {
    let path = vectors_root()
        .join("stf")
        .join(C::FOLDER)
        .join("tiny")
        .join(file);
    if !path.is_file() {
        assert!(
            !vectors_required(),
            "JAM_VECTORS_REQUIRED=1 but {} is missing",
            path.display()
        );
        eprintln!("\n!!!!!!!! SKIPPED corruption test: {file} not found !!!!!!!!\n");
        return;
    }
    let spec = ChainSpec::tiny();
    let bin = std::fs::read(&path).expect("read the vector");
    let mut case: Case<C> = decode_exact(&spec, &bin).expect("decode the vector");
    check_case::<C>(&spec, &case).expect("the untouched case passes");
    corrupt(&mut case);
    let err = check_case::<C>(&spec, &case).expect_err("the corrupted case must fail");
    eprintln!(
        "[{}] corrupted {file} fails as it should: {err}",
        path.display()
    );
}

/// Flip one nibble of the first hex string in `v` (or bump the first number);
/// `true` if something was changed.
fn corrupt_first_value(v: &mut Value) -> bool {
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
        Value::Array(items) => items.iter_mut().any(corrupt_first_value),
        Value::Object(map) => map.values_mut().any(corrupt_first_value),
        _ => false,
    }
}

/// [`corrupted_case_fails`] with the first value (in JSON order) of the expected
/// post-state changed, for a component-agnostic check.
pub fn corrupted_post_state_fails<C: Component>(name: &str) {
    corrupted_case_fails::<C>(&format!("{name}.bin"), |case| {
        let mut post = serde_json::to_value(&case.post_state).expect("post-state serializes");
        assert!(
            corrupt_first_value(&mut post),
            "nothing to corrupt in {name}"
        );
        let bad: C::State = serde_json::from_value(post).expect("corrupted post-state parses");
        assert_ne!(bad, case.post_state);
        case.post_state = bad;
    });
}
