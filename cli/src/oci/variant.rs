//! The two variants of the Wasm image specification.

use std::fmt;

/// How the module is packaged; Istio's image fetcher reads both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// A standard OCI image: an image configuration and one tar+gzip layer holding `plugin.wasm`
    /// (spec-compat.md); any registry and container tool handles it.
    Compat,
    /// The Wasm Artifact Image (spec.md): a runtime configuration and the module as a raw layer,
    /// with `application/vnd.module.wasm.*` media types.
    Oci,
}

impl Variant {
    /// The name used on the command line and in output.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Compat => "compat",
            Variant::Oci => "oci",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
