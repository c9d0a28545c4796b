//! Getting the module back out of an image the way Istio's image fetcher does
//! (`pkg/wasm/imagefetcher.go`): first as the *compat* variant (the last layer is
//! `application/vnd.oci.image.layer.v1.tar+gzip` and holds `plugin.wasm`), else as the *oci*
//! variant (exactly two layers, one of them `application/vnd.module.wasm.content.layer.v1+wasm`,
//! whose bytes are the module). `inspect` uses it on a layout, the tests on a registry.

use oci_spec::image::{Descriptor, ImageManifest, MediaType};

use crate::oci::layer::{plugin_from_tar_gz, LayerError};
use crate::oci::media::WASM_CONTENT_LAYER;
use crate::oci::variant::Variant;

/// The number of layers of an *oci* variant image (runtime configuration and module).
const OCI_VARIANT_LAYERS: usize = 2;

/// Why an image is not readable as one variant (the words of Istio's errors).
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// The manifest lists no layers.
    #[error("number of layers must be greater than zero")]
    NoLayers,
    /// The layer Istio looks at has another media type.
    #[error("invalid media type {found} (expect {expected})")]
    MediaType {
        /// The layer's media type.
        found: String,
        /// The one this variant needs.
        expected: String,
    },
    /// An *oci* variant image must have exactly two layers.
    #[error("number of layers must be {OCI_VARIANT_LAYERS} but got {0}")]
    LayerCount(usize),
    /// No layer holds the module.
    #[error("could not find the layer of type {WASM_CONTENT_LAYER}")]
    NoWasmLayer,
    /// A blob could not be fetched.
    #[error("could not get layer {digest}: {reason}")]
    Blob {
        /// The blob's digest.
        digest: String,
        /// Why it could not be had.
        reason: String,
    },
    /// The tar+gzip layer is broken or lacks `plugin.wasm`.
    #[error("could not extract wasm binary: {0}")]
    Layer(#[from] LayerError),
}

/// The image is neither variant; both reasons, as Istio reports them.
#[derive(Debug, thiserror::Error)]
#[error("the image is in invalid format as a Wasm image: could not parse as compat variant: {compat}; could not parse as oci variant: {oci}")]
pub struct ReadError {
    /// Why it is not a *compat* image.
    pub compat: Unreadable,
    /// Why it is not an *oci* image.
    pub oci: Unreadable,
}

/// A module read from an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The variant it was read as.
    pub variant: Variant,
    /// The descriptor of the layer it came from.
    pub layer: Descriptor,
    /// The module's bytes.
    pub wasm: Vec<u8>,
}

/// Reads the module of the image `manifest` describes; `blob` fetches a blob by descriptor.
pub fn wasm_of<E: std::fmt::Display>(
    manifest: &ImageManifest,
    mut blob: impl FnMut(&Descriptor) -> Result<Vec<u8>, E>,
) -> Result<Extracted, ReadError> {
    let compat = match compat(manifest, &mut blob) {
        Ok(found) => return Ok(found),
        Err(e) => e,
    };
    match oci(manifest, &mut blob) {
        Ok(found) => Ok(found),
        Err(oci) => Err(ReadError { compat, oci }),
    }
}

fn compat<E: std::fmt::Display>(
    manifest: &ImageManifest,
    blob: &mut impl FnMut(&Descriptor) -> Result<Vec<u8>, E>,
) -> Result<Extracted, Unreadable> {
    let layer = manifest.layers().last().ok_or(Unreadable::NoLayers)?;
    if *layer.media_type() != MediaType::ImageLayerGzip {
        return Err(Unreadable::MediaType {
            found: layer.media_type().to_string(),
            expected: MediaType::ImageLayerGzip.to_string(),
        });
    }
    let bytes = fetch(layer, blob)?;
    Ok(Extracted {
        variant: Variant::Compat,
        layer: layer.clone(),
        wasm: plugin_from_tar_gz(&bytes)?,
    })
}

fn oci<E: std::fmt::Display>(
    manifest: &ImageManifest,
    blob: &mut impl FnMut(&Descriptor) -> Result<Vec<u8>, E>,
) -> Result<Extracted, Unreadable> {
    let layers = manifest.layers();
    if layers.len() != OCI_VARIANT_LAYERS {
        return Err(Unreadable::LayerCount(layers.len()));
    }
    let wasm_type = MediaType::Other(WASM_CONTENT_LAYER.into());
    let layer = layers
        .iter()
        .find(|l| *l.media_type() == wasm_type)
        .ok_or(Unreadable::NoWasmLayer)?;
    Ok(Extracted {
        variant: Variant::Oci,
        layer: layer.clone(),
        wasm: fetch(layer, blob)?,
    })
}

fn fetch<E: std::fmt::Display>(
    layer: &Descriptor,
    blob: &mut impl FnMut(&Descriptor) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, Unreadable> {
    blob(layer).map_err(|e| Unreadable::Blob {
        digest: layer.digest().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::ImageManifestBuilder;

    fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
        crate::oci::blob::Blob::new(MediaType::from(media_type), bytes.to_vec()).descriptor()
    }

    fn manifest(layers: Vec<Descriptor>) -> ImageManifest {
        ImageManifestBuilder::default()
            .schema_version(2u32)
            .config(descriptor("application/vnd.oci.image.config.v1+json", b"{}"))
            .layers(layers)
            .build()
            .unwrap()
    }

    #[test]
    fn an_image_of_neither_variant_gives_both_reasons_as_istio_does() {
        let m = manifest(vec![descriptor("application/vnd.oci.image.layer.v1.tar", b"tar")]);
        let err = wasm_of(&m, |_| Ok::<_, String>(Vec::new())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the image is in invalid format as a Wasm image: could not parse as compat variant: invalid media \
             type application/vnd.oci.image.layer.v1.tar (expect application/vnd.oci.image.layer.v1.tar+gzip); \
             could not parse as oci variant: number of layers must be 2 but got 1"
        );
        let err = wasm_of(&manifest(vec![]), |_| Ok::<_, String>(Vec::new())).unwrap_err();
        assert!(matches!(err.compat, Unreadable::NoLayers), "{err}");
    }

    #[test]
    fn the_oci_variant_needs_its_content_layer_and_blob_errors_are_named() {
        let config = descriptor("application/vnd.module.wasm.config.v1+json", b"{}");
        let m = manifest(vec![config.clone(), config.clone()]);
        let err = wasm_of(&m, |_| Ok::<_, String>(Vec::new())).unwrap_err();
        assert!(matches!(err.oci, Unreadable::NoWasmLayer), "{err}");
        let wasm = descriptor(WASM_CONTENT_LAYER, b"\0asm");
        let m = manifest(vec![config, wasm.clone()]);
        let err = wasm_of(&m, |_| Err("connection reset")).unwrap_err();
        assert_eq!(
            err.oci.to_string(),
            format!("could not get layer {}: connection reset", wasm.digest())
        );
        let found = wasm_of(&m, |_| Ok::<_, String>(b"\0asm".to_vec())).unwrap();
        assert_eq!(
            (found.variant, found.wasm, found.layer),
            (Variant::Oci, b"\0asm".to_vec(), wasm)
        );
    }

    #[test]
    fn a_compat_layer_without_plugin_wasm_falls_through_to_the_oci_variant() {
        let empty_tar = crate::oci::layer::gzip(&[0u8; 1024]).unwrap();
        let m = manifest(vec![descriptor(
            "application/vnd.oci.image.layer.v1.tar+gzip",
            &empty_tar,
        )]);
        let err = wasm_of(&m, |_| Ok::<_, String>(empty_tar.clone())).unwrap_err();
        assert_eq!(
            err.compat.to_string(),
            "could not extract wasm binary: plugin.wasm not found in the layer"
        );
        assert!(matches!(err.oci, Unreadable::LayerCount(1)));
    }
}
