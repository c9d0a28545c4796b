//! The Istio `WasmPlugin` that carries imported policies to exactly the workloads their
//! `AuthorizationPolicy` applied to: same namespace, same `selector` or `targetRefs`.

use serde_json::{json, Value};

use crate::model::PolicyDocument;

/// Name of the WasmPlugin carrying a namespace's (or, in the root namespace, the mesh's)
/// policies that select no workload; selecting ones get `<this>-<first policy name>`.
pub const CARRIER_NAME: &str = "meshward-authz";

/// The workloads an AuthorizationPolicy applies to, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `metadata.namespace` (none: the namespace it is applied in).
    pub namespace: Option<String>,
    /// `spec.selector` (a `matchLabels` map), as written.
    pub selector: Option<Value>,
    /// `spec.targetRefs` (or the older single `spec.targetRef` as a one-element list).
    pub target_refs: Option<Value>,
}

impl Scope {
    /// Whether the scope narrows to some workloads (else: the whole namespace, or the mesh in the
    /// root namespace).
    pub fn selects(&self) -> bool {
        self.selector.is_some() || self.target_refs.is_some()
    }
}

/// Policies that apply to the same workloads, and the WasmPlugin that carries them there.
#[derive(Debug, Clone)]
pub struct Carrier {
    /// Where the policies apply.
    pub scope: Scope,
    /// WasmPlugin name (`metadata.name`).
    pub name: String,
    /// The filter configuration: those policies only.
    pub document: PolicyDocument,
}

impl Carrier {
    /// `<namespace>/<name>` (or the name alone), for messages.
    pub fn qualified_name(&self) -> String {
        match &self.scope.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The WasmPlugin manifest running `meshward_netpolicy` from `url` (`oci://...`) in phase
    /// AUTHZ (after Istio's authentication filters, where `jwt_authn` has verified the token), on
    /// the scope's workloads, configured with the carrier's document. It fails closed: an
    /// authorization filter that cannot load must not let every request through.
    pub fn wasm_plugin(&self, url: &str) -> Value {
        let mut metadata = json!({ "name": self.name });
        if let Some(ns) = &self.scope.namespace {
            metadata["namespace"] = Value::String(ns.clone());
        }
        // Serializing a document of strings, lists and enums cannot fail.
        let config = serde_json::to_value(&self.document).unwrap_or(Value::Null);
        let mut spec = json!({
            "url": url,
            "phase": "AUTHZ",
            "failStrategy": "FAIL_CLOSE",
            "pluginConfig": config,
        });
        if let Some(sel) = &self.scope.selector {
            spec["selector"] = sel.clone();
        }
        if let Some(refs) = &self.scope.target_refs {
            spec["targetRefs"] = refs.clone();
        }
        json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": metadata,
            "spec": spec,
        })
    }
}
