//! The node's JSON-RPC server (JIP-2, "Node RPC"), over WebSocket with `jsonrpsee`.
//!
//! JIP-2 fixes the wire form: JSON-RPC 2.0, parameters by position, every Hash and
//! Blob a padded Base64 string (RFC 4648), a block a Block Descriptor
//! `{"header_hash", "slot"}`, subscription ids Numbers, and each subscription's
//! notifications carrying the `subscribe…` method's own name. The server reads
//! everything it answers from a [`NodeView`] the node implements; it keeps no chain
//! of its own.
//!
//! Methods served (JIP-2 § Methods): `parameters`, `bestBlock`, `finalizedBlock`,
//! `parent`, `stateRoot`, `statistics`, `serviceData`, `serviceValue`,
//! `servicePreimage`, `serviceRequest`, `listServices`, `submitWorkPackage`,
//! `submitPreimage`, `workPackageStatus`, and the subscriptions
//! `subscribeBestBlock`, `subscribeFinalizedBlock`, `subscribeStatistics`,
//! `subscribeServiceData`, `subscribeServiceValue`, `subscribeServicePreimage`,
//! `subscribeServiceRequest`, `subscribeWorkPackageStatus` (each with its
//! `unsubscribe…`). The BEEFY, segment-fetching and sync methods are not served.
//!
//! Errors (JIP-2 § Error codes): malformed parameters are JSON-RPC "invalid params"
//! (-32602) with a message naming the parameter; an unknown header hash is code 1
//! "Block unavailable" with the hash as `data`; anything else the node refuses is
//! code 0 with its message.
//!
//! Chain subscriptions (JIP-2 § Chain subscriptions) send the value at the tracked
//! block (best or finalized) when created, then re-read it at each new tracked block
//! and send a Chain Subscription Update whenever it differs from the last one sent.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use jsonrpsee::server::{
    RandomIntegerIdProvider, RpcModule, Server, ServerConfig, ServerHandle, SubscriptionMessage,
};
use jsonrpsee::types::error::{ErrorCode, ErrorObjectOwned};
use jsonrpsee::types::Params;
use serde_json::{json, Value};
use tessera_core::codec::Encode;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{CoreIndex, ServiceId, TimeSlot};
use tessera_state::sigma::accounts::decode_lookup;
use tessera_state::ChainState;
use tokio::sync::broadcast;

/// The default JIP-2 port ("it is envisaged that Websockets will be the usual
/// medium, on port 19800").
pub const DEFAULT_PORT: u16 = 19800;

/// The largest request the server reads (a work-package submission is the largest:
/// `W_B` = 13,791,360 octets, Base64-inflated by 4/3, plus JSON framing).
const MAX_REQUEST_BYTES: u32 = 20 * 1024 * 1024;

/// A block as JIP-2 names it (its "Block Descriptor"): header hash and slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockDescriptor {
    /// The hash of the block's header.
    pub header_hash: Hash,
    /// The block's slot `H_T`.
    pub slot: TimeSlot,
}

impl BlockDescriptor {
    fn to_json(self) -> Value {
        json!({ "header_hash": b64(&self.header_hash.0), "slot": self.slot })
    }
}

/// A change of the node's chain that subscriptions follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainEvent {
    /// The head of the best chain is now this block.
    BestBlock(BlockDescriptor),
    /// The latest finalized block is now this block.
    FinalizedBlock(BlockDescriptor),
}

/// A work-package's status after some block (JIP-2 `workPackageStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkPackageStatus {
    /// Not yet reported; it could be reported within `remaining_blocks` more blocks.
    Reportable {
        /// Blocks left in which it can still be reported (1: only the next one).
        remaining_blocks: u32,
    },
    /// Reported on `core` in `reported_in`, not yet available.
    Reported {
        /// The block whose guarantees extrinsic reported it.
        reported_in: BlockDescriptor,
        /// The core it was reported on.
        core: CoreIndex,
        /// The hash of the work-report included on-chain.
        report_hash: Hash,
    },
    /// Available (or audited) and queued for accumulation.
    Ready {
        /// The block whose guarantees extrinsic reported it.
        reported_in: BlockDescriptor,
        /// The core it was reported on.
        core: CoreIndex,
        /// The hash of the work-report included on-chain.
        report_hash: Hash,
        /// The block in which it became ready.
        ready_in: BlockDescriptor,
    },
    /// It cannot become ready on this fork; the message says why.
    Failed(String),
}

impl WorkPackageStatus {
    fn to_json(&self) -> Value {
        match self {
            WorkPackageStatus::Reportable { remaining_blocks } => {
                json!({ "Reportable": { "remaining_blocks": remaining_blocks } })
            }
            WorkPackageStatus::Reported {
                reported_in,
                core,
                report_hash,
            } => json!({ "Reported": {
                "reported_in": reported_in.to_json(),
                "core": core,
                "report_hash": b64(&report_hash.0),
            }}),
            WorkPackageStatus::Ready {
                reported_in,
                core,
                report_hash,
                ready_in,
            } => json!({ "Ready": {
                "reported_in": reported_in.to_json(),
                "core": core,
                "report_hash": b64(&report_hash.0),
                "ready_in": ready_in.to_json(),
            }}),
            WorkPackageStatus::Failed(why) => json!({ "Failed": why }),
        }
    }
}

/// What the RPC server needs from a node. Every method is called from the server's
/// tokio tasks and must return promptly (hand long work, e.g. a submission's
/// network traffic, to the node's own tasks).
pub trait NodeView: Send + Sync + 'static {
    /// The chain's protocol parameters.
    fn spec(&self) -> &ChainSpec;
    /// The head of the best chain.
    fn best_block(&self) -> BlockDescriptor;
    /// The latest finalized block.
    fn finalized_block(&self) -> BlockDescriptor;
    /// The parent of the block with this header hash, `None` if the block (or its
    /// parent) is unknown.
    fn parent(&self, header_hash: &Hash) -> Option<BlockDescriptor>;
    /// The posterior state of the block with this header hash, `None` if unknown or
    /// pruned.
    fn state(&self, header_hash: &Hash) -> Option<Arc<ChainState>>;
    /// The posterior state root `M_σ(σ')` (GP D.5) of the block with this header
    /// hash. The default computes it from [`NodeView::state`]; a node that keeps
    /// roots should return its own.
    fn state_root(&self, header_hash: &Hash) -> Option<Hash> {
        self.state(header_hash).map(|s| s.root())
    }
    /// Chain events, for subscriptions. Each call is a new receiver.
    fn events(&self) -> broadcast::Receiver<ChainEvent>;
    /// Submit work-package `package` (GP-encoded) with its `extrinsics` to the
    /// guarantors of `core` (JIP-2 `submitWorkPackage`; CE 133). `Err` carries a
    /// message for the client.
    fn submit_work_package(
        &self,
        core: CoreIndex,
        package: Vec<u8>,
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<(), String>;
    /// Submit a preimage requested by `requester` (JIP-2 `submitPreimage`; CE 142).
    fn submit_preimage(&self, requester: ServiceId, preimage: Vec<u8>) -> Result<(), String>;
    /// The status of work-package `package` with anchor `anchor` after the block
    /// `header_hash`; `None` if that block is unknown.
    fn work_package_status(
        &self,
        header_hash: &Hash,
        package: &Hash,
        anchor: &Hash,
    ) -> Option<WorkPackageStatus>;
}

/// Where the RPC server listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// The TCP port (0: any free port; see [`RpcHandle::local_addr`]).
    pub port: u16,
    /// Listen on every interface (0.0.0.0) instead of 127.0.0.1 only.
    pub external: bool,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            port: DEFAULT_PORT,
            external: false,
        }
    }
}

/// Why the RPC server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The listening socket could not be bound.
    #[error("RPC: cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A method could not be registered (a bug: two methods of one name).
    #[error("RPC: cannot register method: {0}")]
    Register(String),
}

/// A running RPC server. Dropping it does not stop the server; call
/// [`RpcHandle::stop`].
#[derive(Debug)]
pub struct RpcHandle {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl RpcHandle {
    /// The address the server is bound to (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop the server and wait until it has stopped.
    pub async fn stop(self) {
        // An error only says it was already stopped.
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// Start the JIP-2 server on `config`'s address, answering from `view`. Must be
/// called within a tokio runtime.
pub async fn start(config: RpcConfig, view: Arc<dyn NodeView>) -> Result<RpcHandle, RpcError> {
    let ip = if config.external {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    };
    let asked = SocketAddr::new(ip, config.port);
    let server = Server::builder()
        .set_config(
            ServerConfig::builder()
                .ws_only()
                .max_request_body_size(MAX_REQUEST_BYTES)
                .set_id_provider(RandomIntegerIdProvider)
                .build(),
        )
        .build(asked)
        .await
        .map_err(|source| RpcError::Bind {
            addr: asked,
            source,
        })?;
    let addr = server.local_addr().map_err(|source| RpcError::Bind {
        addr: asked,
        source,
    })?;
    let module = module(view)?;
    let handle = server.start(module);
    tracing::info!(%addr, "JIP-2 RPC server listening");
    Ok(RpcHandle { addr, handle })
}

type Ctx = Arc<dyn NodeView>;
type RpcResult = Result<Value, ErrorObjectOwned>;

fn reg(e: impl std::fmt::Display) -> RpcError {
    RpcError::Register(e.to_string())
}

/// Every JIP-2 method this server serves, over `view`.
fn module(view: Ctx) -> Result<RpcModule<Ctx>, RpcError> {
    let mut m = RpcModule::new(view);
    let sync = |m: &mut RpcModule<Ctx>,
                name: &'static str,
                f: fn(&dyn NodeView, &[Value]) -> RpcResult| {
        m.register_method(name, move |p, ctx, _| {
            let args = positional(&p)?;
            f(&**ctx, &args)
        })
        .map(|_| ())
        .map_err(reg)
    };
    sync(&mut m, "parameters", |v, a| {
        arity(a, 0)?;
        Ok(parameters_json(v.spec()))
    })?;
    sync(&mut m, "bestBlock", |v, a| {
        arity(a, 0)?;
        Ok(v.best_block().to_json())
    })?;
    sync(&mut m, "finalizedBlock", |v, a| {
        arity(a, 0)?;
        Ok(v.finalized_block().to_json())
    })?;
    sync(&mut m, "parent", |v, a| {
        arity(a, 1)?;
        let h = hash_arg(a, 0, "header_hash")?;
        v.parent(&h)
            .map(BlockDescriptor::to_json)
            .ok_or_else(|| block_unavailable(&h))
    })?;
    sync(&mut m, "stateRoot", |v, a| {
        arity(a, 1)?;
        let h = hash_arg(a, 0, "header_hash")?;
        v.state_root(&h)
            .map(|r| Value::String(b64(&r.0)))
            .ok_or_else(|| block_unavailable(&h))
    })?;
    sync(&mut m, "statistics", |v, a| {
        arity(a, 1)?;
        let h = hash_arg(a, 0, "header_hash")?;
        Ok(Query::Statistics.read(&*state_at(v, &h)?))
    })?;
    sync(&mut m, "serviceData", |v, a| {
        arity(a, 2)?;
        let h = hash_arg(a, 0, "header_hash")?;
        let id = u32_arg(a, 1, "id")?;
        Ok(Query::ServiceData(id).read(&*state_at(v, &h)?))
    })?;
    sync(&mut m, "serviceValue", |v, a| {
        arity(a, 3)?;
        let h = hash_arg(a, 0, "header_hash")?;
        let id = u32_arg(a, 1, "id")?;
        let key = blob_arg(a, 2, "key")?;
        Ok(Query::ServiceValue(id, key).read(&*state_at(v, &h)?))
    })?;
    sync(&mut m, "servicePreimage", |v, a| {
        arity(a, 3)?;
        let h = hash_arg(a, 0, "header_hash")?;
        let id = u32_arg(a, 1, "id")?;
        let hash = hash_arg(a, 2, "hash")?;
        Ok(Query::ServicePreimage(id, hash).read(&*state_at(v, &h)?))
    })?;
    sync(&mut m, "serviceRequest", |v, a| {
        arity(a, 4)?;
        let h = hash_arg(a, 0, "header_hash")?;
        let id = u32_arg(a, 1, "id")?;
        let hash = hash_arg(a, 2, "hash")?;
        let len = u32_arg(a, 3, "len")?;
        Ok(Query::ServiceRequest(id, hash, len).read(&*state_at(v, &h)?))
    })?;
    sync(&mut m, "listServices", |v, a| {
        arity(a, 1)?;
        let h = hash_arg(a, 0, "header_hash")?;
        let state = state_at(v, &h)?;
        Ok(Value::from(state.delta.keys().copied().collect::<Vec<_>>()))
    })?;
    sync(&mut m, "workPackageStatus", |v, a| {
        arity(a, 3)?;
        let h = hash_arg(a, 0, "header_hash")?;
        let package = hash_arg(a, 1, "hash")?;
        let anchor = hash_arg(a, 2, "anchor")?;
        v.work_package_status(&h, &package, &anchor)
            .map(|s| s.to_json())
            .ok_or_else(|| block_unavailable(&h))
    })?;
    sync(&mut m, "submitWorkPackage", |v, a| {
        arity(a, 3)?;
        let core = u16_arg(a, 0, "core")?;
        if usize::from(core) >= v.spec().cores() {
            return Err(invalid(format!(
                "parameter 1 (core): core {core} does not exist (C = {})",
                v.spec().cores()
            )));
        }
        let package = blob_arg(a, 1, "package")?;
        let extrinsics = match &a[2] {
            Value::Array(xs) => xs
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    blob_of(x)
                        .map_err(|e| invalid(format!("parameter 3 (extrinsics), item {i}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(invalid(
                    "parameter 3 (extrinsics): expected an Array of Blobs",
                ))
            }
        };
        v.submit_work_package(core, package, extrinsics)
            .map(|()| Value::Null)
            .map_err(other)
    })?;
    sync(&mut m, "submitPreimage", |v, a| {
        arity(a, 2)?;
        let requester = u32_arg(a, 0, "requester")?;
        let preimage = blob_arg(a, 1, "preimage")?;
        v.submit_preimage(requester, preimage)
            .map(|()| Value::Null)
            .map_err(other)
    })?;

    block_subscription(&mut m, "subscribeBestBlock", "unsubscribeBestBlock", false)?;
    block_subscription(
        &mut m,
        "subscribeFinalizedBlock",
        "unsubscribeFinalizedBlock",
        true,
    )?;
    chain_subscription(
        &mut m,
        "subscribeStatistics",
        "unsubscribeStatistics",
        |a| {
            arity(a, 1)?;
            Ok((Query::Statistics, bool_arg(a, 0, "finalized")?))
        },
    )?;
    chain_subscription(
        &mut m,
        "subscribeServiceData",
        "unsubscribeServiceData",
        |a| {
            arity(a, 2)?;
            Ok((
                Query::ServiceData(u32_arg(a, 0, "id")?),
                bool_arg(a, 1, "finalized")?,
            ))
        },
    )?;
    chain_subscription(
        &mut m,
        "subscribeServiceValue",
        "unsubscribeServiceValue",
        |a| {
            arity(a, 3)?;
            let id = u32_arg(a, 0, "id")?;
            let key = blob_arg(a, 1, "key")?;
            Ok((Query::ServiceValue(id, key), bool_arg(a, 2, "finalized")?))
        },
    )?;
    chain_subscription(
        &mut m,
        "subscribeServicePreimage",
        "unsubscribeServicePreimage",
        |a| {
            arity(a, 3)?;
            let id = u32_arg(a, 0, "id")?;
            let hash = hash_arg(a, 1, "hash")?;
            Ok((
                Query::ServicePreimage(id, hash),
                bool_arg(a, 2, "finalized")?,
            ))
        },
    )?;
    chain_subscription(
        &mut m,
        "subscribeServiceRequest",
        "unsubscribeServiceRequest",
        |a| {
            arity(a, 4)?;
            let id = u32_arg(a, 0, "id")?;
            let hash = hash_arg(a, 1, "hash")?;
            let len = u32_arg(a, 2, "len")?;
            Ok((
                Query::ServiceRequest(id, hash, len),
                bool_arg(a, 3, "finalized")?,
            ))
        },
    )?;
    chain_subscription(
        &mut m,
        "subscribeWorkPackageStatus",
        "unsubscribeWorkPackageStatus",
        |a| {
            arity(a, 3)?;
            let hash = hash_arg(a, 0, "hash")?;
            let anchor = hash_arg(a, 1, "anchor")?;
            Ok((
                Query::WorkPackageStatus(hash, anchor),
                bool_arg(a, 2, "finalized")?,
            ))
        },
    )?;
    Ok(m)
}

/// A per-block value a method or subscription reads from a block's posterior state.
#[derive(Clone, Debug)]
enum Query {
    /// `π` encoded as in state (GP D.2, C(13)).
    Statistics,
    /// Service `s`'s metadata as in state (GP D.2, C(255, s)); Null if absent.
    ServiceData(ServiceId),
    /// Storage `a_s[k]` of service `s`; Null if absent.
    ServiceValue(ServiceId, Vec<u8>),
    /// Preimage `a_p[h]` of service `s`; Null if absent.
    ServicePreimage(ServiceId, Hash),
    /// Lookup entry `a_l[(h, l)]` of service `s`: Null, or its slots.
    ServiceRequest(ServiceId, Hash, u32),
    /// A work-package's status (package hash, anchor); read from the node.
    WorkPackageStatus(Hash, Hash),
}

impl Query {
    /// The value in `state` (not used for [`Query::WorkPackageStatus`], which
    /// needs the node, see [`Query::at`]).
    fn read(&self, state: &ChainState) -> Value {
        match self {
            Query::Statistics => Value::String(b64(&state.component(13))),
            Query::ServiceData(s) => state
                .delta
                .get(s)
                .map_or(Value::Null, |a| Value::String(b64(&a.info.encode()))),
            Query::ServiceValue(s, k) => state
                .delta
                .get(s)
                .and_then(|a| a.storage(*s, k))
                .map_or(Value::Null, |v| Value::String(b64(v))),
            Query::ServicePreimage(s, h) => state
                .delta
                .get(s)
                .and_then(|a| a.preimage(*s, h))
                .map_or(Value::Null, |v| Value::String(b64(v))),
            Query::ServiceRequest(s, h, l) => state
                .delta
                .get(s)
                .and_then(|a| {
                    a.items
                        .get(&tessera_state::serial::state_key::lookup(*s, h, *l))
                })
                .and_then(|v| decode_lookup(v))
                .map_or(Value::Null, Value::from),
            Query::WorkPackageStatus(..) => Value::Null,
        }
    }

    /// The value at block `b`.
    fn at(&self, view: &dyn NodeView, b: &BlockDescriptor) -> RpcResult {
        match self {
            Query::WorkPackageStatus(package, anchor) => view
                .work_package_status(&b.header_hash, package, anchor)
                .map(|s| s.to_json())
                .ok_or_else(|| block_unavailable(&b.header_hash)),
            q => Ok(q.read(&*state_at(view, &b.header_hash)?)),
        }
    }
}

/// JIP-2 `parameters`: `{"V1": {…}}` with the members JIP-2 lists, each the GP
/// constant of that name.
fn parameters_json(s: &ChainSpec) -> Value {
    json!({ "V1": {
        "deposit_per_item": s.balance_per_item,
        "deposit_per_byte": s.balance_per_octet,
        "deposit_per_account": s.balance_per_service,
        "core_count": s.core_count,
        "min_turnaround_period": s.preimage_expunge_period,
        "epoch_period": s.epoch_length,
        "max_accumulate_gas": s.gas_accumulate_report,
        "max_is_authorized_gas": s.gas_is_authorized,
        "max_refine_gas": s.gas_refine,
        "block_gas_limit": s.gas_total_accumulation,
        "recent_block_count": s.recent_history_size,
        "max_work_items": s.max_work_items,
        "max_dependencies": s.max_report_dependencies,
        "max_tickets_per_block": s.max_tickets_per_extrinsic,
        "max_lookup_anchor_age": s.max_lookup_anchor_age,
        "tickets_attempts_number": s.tickets_per_validator,
        "auth_window": s.auth_pool_size,
        "slot_period_sec": s.slot_period_seconds,
        "auth_queue_len": s.auth_queue_size,
        "rotation_period": s.rotation_period,
        "max_extrinsics": s.max_package_extrinsics,
        "availability_timeout": s.availability_timeout,
        "val_count": s.validator_count,
        "max_authorizer_code_size": s.max_authorizer_code_size,
        "max_input": s.max_bundle_size,
        "max_service_code_size": s.max_service_code_size,
        "basic_piece_len": s.erasure_piece_size,
        "max_imports": s.max_imports,
        "segment_piece_count": s.segment_pieces,
        "max_report_elective_data": s.max_report_output_size,
        "transfer_memo_size": s.transfer_memo_size,
        "max_exports": s.max_exports,
        "epoch_tail_start": s.ticket_submission_end,
    }})
}

/// `subscribeBestBlock` / `subscribeFinalizedBlock`: the Block Descriptor now, then
/// at each change.
fn block_subscription(
    m: &mut RpcModule<Ctx>,
    name: &'static str,
    unsub: &'static str,
    finalized: bool,
) -> Result<(), RpcError> {
    m.register_subscription(name, name, unsub, move |p, pending, ctx, _| async move {
        if let Err(e) = positional(&p).and_then(|a| arity(&a, 0)) {
            pending.reject(e).await;
            return;
        }
        let mut rx = ctx.events();
        let Ok(sink) = pending.accept().await else {
            return;
        };
        let mut last = tracked(&**ctx, finalized);
        if send(&sink, last.to_json()).await.is_err() {
            return;
        }
        while let Some(b) = next_block(&sink, &mut rx, &**ctx, finalized).await {
            if b != last {
                last = b;
                if send(&sink, b.to_json()).await.is_err() {
                    return;
                }
            }
        }
    })
    .map(|_| ())
    .map_err(reg)
}

/// Reads a chain subscription's query and its `finalized` flag from its parameters.
type ParseSubscription = fn(&[Value]) -> Result<(Query, bool), ErrorObjectOwned>;

/// A chain subscription (JIP-2 § Chain subscriptions): `parse` reads the query and
/// the `finalized` flag from the parameters.
fn chain_subscription(
    m: &mut RpcModule<Ctx>,
    name: &'static str,
    unsub: &'static str,
    parse: ParseSubscription,
) -> Result<(), RpcError> {
    m.register_subscription(name, name, unsub, move |p, pending, ctx, _| async move {
        let (query, finalized) = match positional(&p).and_then(|a| parse(&a)) {
            Ok(x) => x,
            Err(e) => {
                pending.reject(e).await;
                return;
            }
        };
        let mut rx = ctx.events();
        let Ok(sink) = pending.accept().await else {
            return;
        };
        let mut block = tracked(&**ctx, finalized);
        let mut last: Option<Value> = None;
        loop {
            // A block whose state is gone (pruned between the event and the read)
            // is skipped: the next block brings the next value.
            if let Ok(value) = query.at(&**ctx, &block) {
                if last.as_ref() != Some(&value) {
                    let update = json!({
                        "header_hash": b64(&block.header_hash.0),
                        "slot": block.slot,
                        "value": value,
                    });
                    if send(&sink, update).await.is_err() {
                        return;
                    }
                    last = Some(value);
                }
            }
            match next_block(&sink, &mut rx, &**ctx, finalized).await {
                Some(b) => block = b,
                None => return,
            }
        }
    })
    .map(|_| ())
    .map_err(reg)
}

fn tracked(view: &dyn NodeView, finalized: bool) -> BlockDescriptor {
    if finalized {
        view.finalized_block()
    } else {
        view.best_block()
    }
}

/// The next tracked block, or `None` once the client has gone or the node's event
/// channel has closed. A lagging receiver skips to the node's current block.
async fn next_block(
    sink: &jsonrpsee::server::SubscriptionSink,
    rx: &mut broadcast::Receiver<ChainEvent>,
    view: &dyn NodeView,
    finalized: bool,
) -> Option<BlockDescriptor> {
    loop {
        let ev = tokio::select! {
            () = sink.closed() => return None,
            ev = rx.recv() => ev,
        };
        match ev {
            Ok(ChainEvent::BestBlock(b)) if !finalized => return Some(b),
            Ok(ChainEvent::FinalizedBlock(b)) if finalized => return Some(b),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return Some(tracked(view, finalized)),
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

async fn send(sink: &jsonrpsee::server::SubscriptionSink, v: Value) -> Result<(), ()> {
    let raw = serde_json::value::to_raw_value(&v).map_err(|_| ())?;
    sink.send(SubscriptionMessage::from(raw))
        .await
        .map_err(|_| ())
}

// ---- parameters ----------------------------------------------------------------

/// The positional parameters (JIP-2: `params` is an Array; absent means none).
fn positional(p: &Params<'_>) -> Result<Vec<Value>, ErrorObjectOwned> {
    match p.as_str() {
        None => Ok(Vec::new()),
        Some(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => Ok(a),
            Ok(_) => Err(invalid(
                "parameters must be passed by position, as an Array",
            )),
            Err(e) => Err(invalid(format!("parameters are not JSON: {e}"))),
        },
    }
}

fn arity(a: &[Value], n: usize) -> Result<(), ErrorObjectOwned> {
    if a.len() == n {
        Ok(())
    } else {
        Err(invalid(format!(
            "expected {n} parameter{}, got {}",
            if n == 1 { "" } else { "s" },
            a.len()
        )))
    }
}

fn hash_arg(a: &[Value], i: usize, name: &str) -> Result<Hash, ErrorObjectOwned> {
    let bytes = blob_arg(a, i, name)?;
    let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        invalid(format!(
            "parameter {} ({name}): a Hash is 32 octets, this is {}",
            i + 1,
            bytes.len()
        ))
    })?;
    Ok(tessera_core::bytes::ByteArray(arr))
}

fn blob_arg(a: &[Value], i: usize, name: &str) -> Result<Vec<u8>, ErrorObjectOwned> {
    blob_of(&a[i]).map_err(|e| invalid(format!("parameter {} ({name}): {e}", i + 1)))
}

fn blob_of(v: &Value) -> Result<Vec<u8>, String> {
    match v {
        Value::String(s) => B64
            .decode(s)
            .map_err(|e| format!("not padded Base64 (RFC 4648): {e}")),
        _ => Err("expected a Base64 String".into()),
    }
}

fn u32_arg(a: &[Value], i: usize, name: &str) -> Result<u32, ErrorObjectOwned> {
    a[i].as_u64()
        .and_then(|x| u32::try_from(x).ok())
        .ok_or_else(|| {
            invalid(format!(
                "parameter {} ({name}): expected a Number in 0..2^32",
                i + 1
            ))
        })
}

fn u16_arg(a: &[Value], i: usize, name: &str) -> Result<u16, ErrorObjectOwned> {
    a[i].as_u64()
        .and_then(|x| u16::try_from(x).ok())
        .ok_or_else(|| {
            invalid(format!(
                "parameter {} ({name}): expected a Number in 0..2^16",
                i + 1
            ))
        })
}

fn bool_arg(a: &[Value], i: usize, name: &str) -> Result<bool, ErrorObjectOwned> {
    a[i].as_bool()
        .ok_or_else(|| invalid(format!("parameter {} ({name}): expected a Boolean", i + 1)))
}

// ---- results and errors ----------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn state_at(view: &dyn NodeView, h: &Hash) -> Result<Arc<ChainState>, ErrorObjectOwned> {
    view.state(h).ok_or_else(|| block_unavailable(h))
}

fn invalid(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(ErrorCode::InvalidParams.code(), msg.into(), None::<()>)
}

/// JIP-2 error 1, "Block unavailable", with the header hash as `data`.
fn block_unavailable(h: &Hash) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(1, "Block unavailable", Some(b64(&h.0)))
}

/// JIP-2 error 0, "Other error".
fn other(msg: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(0, msg, None::<()>)
}
