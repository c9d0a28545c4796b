//! Checks for the deployment manifests in `deploy/`: Istio's WasmPlugin CRD
//! (`deploy/istio/schema/wasmplugin-crd.yaml`) turned into a strict JSON Schema validator.

pub mod crd;

pub use crd::{wasm_plugin_validator, CrdError, ManifestValidator, WASM_PLUGIN_CRD};
