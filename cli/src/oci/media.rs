//! Media types and annotation keys of the Wasm image specification (both variants), as
//! Istio's image fetcher and `wasme` use them.

/// The Wasm Artifact Image's runtime configuration (the *oci* variant's config and its first layer).
pub const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
/// The Wasm Artifact Image's content layer: the module's bytes, uncompressed.
pub const WASM_CONTENT_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

/// Manifest annotation of a *compat* image with an OCI tar+gzip layer (spec-compat.md).
pub const VARIANT_ANNOTATION: &str = "module.wasm.image/variant";
/// `wasme`'s manifest annotation naming the runtime (*oci* variant).
pub const RUNTIME_TYPE_ANNOTATION: &str = "module.wasm.runtime/type";
/// `wasme`'s manifest annotation listing the ABI versions (*oci* variant).
pub const ABI_VERSION_ANNOTATION: &str = "module.wasm.runtime/abi_version";
/// The runtime type of an Envoy filter in the runtime configuration.
pub const ENVOY_RUNTIME: &str = "envoy_proxy";

/// The file a *compat* layer holds, and the title of the *oci* content layer.
pub const PLUGIN_FILE: &str = "plugin.wasm";
/// The title of the *oci* variant's runtime configuration layer.
pub const RUNTIME_CONFIG_FILE: &str = "runtime-config.json";

/// meshward's annotation: the filter's file name (`meshward_waf.wasm`).
pub const FILTER_ANNOTATION: &str = "meshward.filter";
/// meshward's annotation: the SHA-256 digest of the `.wasm` itself (not of a layer).
pub const WASM_DIGEST_ANNOTATION: &str = "meshward.wasm.digest";
