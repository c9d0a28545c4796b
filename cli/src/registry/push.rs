//! Pushing one image of a layout: each blob (skipped when the registry has it), then the
//! manifest; the registry must store it under the digest computed here.

use oci_spec::image::{Descriptor, ImageManifest};

use crate::oci::layout::{Entry, Layout};
use crate::registry::client::Client;
use crate::registry::RegistryError;

/// What became of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The registry did not have it; it was uploaded.
    Uploaded,
    /// The registry had it (`HEAD` answered 200); nothing was sent.
    Existed,
}

/// One blob of a push.
#[derive(Debug, Clone)]
pub struct PushedBlob {
    /// Its descriptor in the manifest.
    pub descriptor: Descriptor,
    /// Uploaded or already there.
    pub outcome: BlobOutcome,
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The manifest's descriptor (its digest pins the image).
    pub manifest: Descriptor,
    /// The tag or digest the manifest was stored under.
    pub reference: String,
    /// Every blob, config first.
    pub blobs: Vec<PushedBlob>,
}

/// Pushes `entry` of `layout` under `reference` (a tag, or the manifest's digest); blobs go
/// up in one `PUT` each, or in `PATCH` chunks of `chunk_size` bytes.
pub fn push(
    client: &mut Client,
    layout: &Layout,
    entry: &Entry,
    reference: &str,
    chunk_size: Option<u64>,
) -> Result<Pushed, RegistryError> {
    let (manifest_blob, manifest): (_, ImageManifest) = layout.manifest(entry)?;
    client.ping()?;
    let mut descriptors: Vec<&Descriptor> = vec![manifest.config()];
    for layer in manifest.layers() {
        if !descriptors.iter().any(|d| d.digest() == layer.digest()) {
            descriptors.push(layer);
        }
    }
    let mut blobs = Vec::new();
    for descriptor in descriptors {
        let digest = descriptor.digest().to_string();
        let outcome = if client.blob_exists(&digest)? {
            BlobOutcome::Existed
        } else {
            let blob = layout.blob(descriptor)?;
            client.upload_blob(&digest, &blob.bytes, chunk_size)?;
            BlobOutcome::Uploaded
        };
        blobs.push(PushedBlob {
            descriptor: descriptor.clone(),
            outcome,
        });
    }
    let media_type = entry.descriptor.media_type().to_string();
    let stored = client.put_manifest(reference, &media_type, &manifest_blob.bytes)?;
    let expected = manifest_blob.digest.to_string();
    if let Some(actual) = stored.filter(|d| *d != expected) {
        return Err(RegistryError::DigestMismatch { expected, actual });
    }
    Ok(Pushed {
        manifest: entry.descriptor.clone(),
        reference: reference.to_string(),
        blobs,
    })
}
