//! Pulling a module the way Istio's image fetcher does (`pkg/wasm/imagefetcher.go`): the
//! manifest by tag or digest (its digest is what a WasmPlugin's `sha256` pins), then the
//! module as the *compat* variant, else as the *oci* variant ([`crate::oci::read`]); every blob
//! is checked against its digest.

use oci_spec::image::{Descriptor, ImageManifest, MediaType};

use crate::oci::blob::sha256;
use crate::oci::read::{wasm_of, Extracted, ReadError};
use crate::registry::client::Client;
use crate::registry::RegistryError;

/// Why a module could not be pulled.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// A registry request failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The manifest's content does not have the digest the reference names.
    #[error("manifest {reference}: content has digest {actual}")]
    ManifestDigest {
        /// The digest asked for.
        reference: String,
        /// The digest of what came.
        actual: String,
    },
    /// The manifest is not an image manifest (an index, or not JSON of one).
    #[error("manifest {reference} ({media_type}): not an OCI image manifest: {reason}")]
    NotAnImage {
        /// The tag or digest.
        reference: String,
        /// The `Content-Type` the registry gave.
        media_type: String,
        /// Why.
        reason: String,
    },
    /// The image holds no module Istio could read (boxed, it is large).
    #[error(transparent)]
    Unreadable(Box<ReadError>),
}

/// A pulled module.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// `sha256:<hex>` of the manifest: the image's digest.
    pub manifest_digest: String,
    /// The module and where it came from.
    pub extracted: Extracted,
}

/// Pulls the module of `reference` (a tag or `sha256:<hex>`) from the client's repository.
pub fn pull(client: &mut Client, reference: &str) -> Result<Pulled, PullError> {
    let (media_type, bytes) = client.manifest(reference)?;
    let manifest_digest = sha256(&bytes).to_string();
    if reference.contains(':') && reference != manifest_digest {
        return Err(PullError::ManifestDigest {
            reference: reference.to_string(),
            actual: manifest_digest,
        });
    }
    let not_an_image = |reason: String| PullError::NotAnImage {
        reference: reference.to_string(),
        media_type: media_type.clone(),
        reason,
    };
    if media_type == MediaType::ImageIndex.to_string() {
        return Err(not_an_image("an image index; push one image per reference".into()));
    }
    let manifest: ImageManifest = serde_json::from_slice(&bytes).map_err(|e| not_an_image(e.to_string()))?;
    let extracted = wasm_of(&manifest, |d: &Descriptor| verified_blob(client, d))
        .map_err(|e| PullError::Unreadable(Box::new(e)))?;
    Ok(Pulled {
        manifest_digest,
        extracted,
    })
}

/// A blob whose content has the descriptor's digest.
fn verified_blob(client: &mut Client, descriptor: &Descriptor) -> Result<Vec<u8>, String> {
    let digest = descriptor.digest().to_string();
    let bytes = client.blob(&digest).map_err(|e| e.to_string())?;
    let actual = sha256(&bytes).to_string();
    if actual != digest {
        return Err(format!("content has digest {actual}"));
    }
    Ok(bytes)
}
