//! A content-addressed blob: its bytes, media type and SHA-256 digest.

use oci_spec::image::{Descriptor, Digest, MediaType, Sha256Digest};
use sha2::{Digest as _, Sha256};

/// One blob of an image (manifest, configuration or layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// What the bytes are.
    pub media_type: MediaType,
    /// The content.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of the content.
    pub digest: Digest,
}

impl Blob {
    /// A blob of `bytes`, digested.
    pub fn new(media_type: MediaType, bytes: Vec<u8>) -> Blob {
        Blob {
            digest: sha256(&bytes),
            media_type,
            bytes,
        }
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The descriptor that references it (no annotations).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.size(), self.digest.clone())
    }
}

/// The `sha256:<hex>` digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let digest: Sha256Digest = hex.parse().expect("64 lowercase hex digits are a SHA-256 digest");
    digest.into()
}
