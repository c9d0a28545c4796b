//! proxy-wasm L7 network-policy filter: a thin adapter over `meshward-policy`.
//!
//! The plugin configuration is a policy document (rules/policy/README.md). Per request the
//! filter reads Envoy attributes and the request headers, asks the engine, logs the decision
//! event, counts it, and replies 403 (`block`) or 400 (`refused`: path or host cannot be normalized)
//! when the decision is enforced. At the end of each stream it records the request in the VM's
//! observation table (`meshward_policy::observe`), which the root context's tick flushes as
//! `meshward.policy.observation` lines.
//! Everything but the host calls lives in [`plan`] and is tested natively.

pub mod analytics;
pub mod plan;

#[cfg(target_arch = "wasm32")]
mod adapter;
