//! Building an image of a proxy-wasm module in either variant, in memory.

use std::collections::{BTreeMap, HashMap};

use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, ImageConfigurationBuilder, ImageManifestBuilder, MediaType, Os, RootFsBuilder,
    ANNOTATION_TITLE,
};
use oci_spec::OciSpecError;
use serde::Serialize;

use crate::oci::blob::{sha256, Blob};
use crate::oci::canonical;
use crate::oci::layer::{gzip, plugin_tar};
use crate::oci::media::{
    ABI_VERSION_ANNOTATION, ENVOY_RUNTIME, PLUGIN_FILE, RUNTIME_CONFIG_FILE, RUNTIME_TYPE_ANNOTATION,
    VARIANT_ANNOTATION, WASM_CONFIG, WASM_CONTENT_LAYER,
};
use crate::oci::metadata::Metadata;
use crate::oci::module::WasmModule;
use crate::oci::variant::Variant;

/// The OCI image-spec schema version of every manifest.
const SCHEMA_VERSION: u32 = 2;

/// An image could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Writing the tar+gzip layer failed.
    #[error("writing the {PLUGIN_FILE} layer: {0}")]
    Layer(#[from] std::io::Error),
    /// A document could not be serialized.
    #[error("serializing the image: {0}")]
    Json(#[from] serde_json::Error),
    /// The OCI types refused a value.
    #[error("assembling the image: {0}")]
    Spec(#[from] OciSpecError),
}

/// A built image: its manifest and the blobs it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// How the module is packaged.
    pub variant: Variant,
    /// The manifest (`application/vnd.oci.image.manifest.v1+json`); its digest names the image.
    pub manifest: Blob,
    /// The configuration, then each layer that is not the configuration, in manifest order.
    pub blobs: Vec<Blob>,
}

/// The *oci* variant's runtime configuration (wasme's `Runtime` message, in its JSON form).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeConfig<'a> {
    #[serde(rename = "type")]
    runtime: &'a str,
    abi_versions: [&'a str; 1],
    /// Runtime settings; empty: a meshward filter serves any root id.
    config: BTreeMap<&'a str, Vec<&'a str>>,
}

/// Builds `module` as an image of `variant`, described by `meta`.
pub fn build(module: &WasmModule, meta: &Metadata, variant: Variant) -> Result<Image, BuildError> {
    let mut annotations = meta.annotations(&sha256(&module.bytes));
    let (config, layers) = match variant {
        Variant::Compat => {
            annotations.insert(VARIANT_ANNOTATION.into(), Variant::Compat.name().into());
            compat(module, meta, &annotations)?
        }
        Variant::Oci => {
            annotations.insert(RUNTIME_TYPE_ANNOTATION.into(), ENVOY_RUNTIME.into());
            annotations.insert(ABI_VERSION_ANNOTATION.into(), module.abi_version.clone());
            oci(module)?
        }
    };
    let manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .config(config.descriptor())
        .layers(
            layers
                .iter()
                .map(|(blob, d)| d.clone().unwrap_or_else(|| blob.descriptor()))
                .collect::<Vec<_>>(),
        )
        .annotations(annotations.into_iter().collect::<HashMap<_, _>>())
        .build()?;
    let mut blobs = vec![config];
    for (blob, _) in layers {
        if !blobs.iter().any(|b| b.digest == blob.digest) {
            blobs.push(blob);
        }
    }
    Ok(Image {
        variant,
        manifest: Blob::new(MediaType::ImageManifest, canonical::to_vec(&manifest)?),
        blobs,
    })
}

/// A layer and, when it needs annotations, its own descriptor.
type Layer = (Blob, Option<Descriptor>);

/// spec-compat.md: an image configuration and one tar+gzip layer with `plugin.wasm` at its root.
fn compat(
    module: &WasmModule,
    meta: &Metadata,
    annotations: &BTreeMap<String, String>,
) -> Result<(Blob, Vec<Layer>), BuildError> {
    let tar = plugin_tar(&module.bytes)?;
    let layer = Blob::new(MediaType::ImageLayerGzip, gzip(&tar)?);
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(vec![sha256(&tar).to_string()])
        .build()?;
    let labels: HashMap<String, String> = annotations.clone().into_iter().collect();
    let mut config = ImageConfigurationBuilder::default()
        .architecture(Arch::Wasm)
        .os(Os::Other(module.os().into()))
        .rootfs(rootfs)
        .config(ConfigBuilder::default().labels(labels).build()?)
        .build()?;
    config.set_created(meta.created.clone());
    let config = Blob::new(MediaType::ImageConfig, canonical::to_vec(&config)?);
    Ok((config, vec![(layer, None)]))
}

/// spec.md, as `wasme` pushes it and Istio reads it: the runtime configuration is the config
/// and also the first of exactly two layers; the second is the module itself.
fn oci(module: &WasmModule) -> Result<(Blob, Vec<Layer>), BuildError> {
    let runtime = RuntimeConfig {
        runtime: ENVOY_RUNTIME,
        abi_versions: [&module.abi_version],
        config: BTreeMap::new(),
    };
    let config = Blob::new(MediaType::Other(WASM_CONFIG.into()), canonical::to_vec(&runtime)?);
    let content = Blob::new(MediaType::Other(WASM_CONTENT_LAYER.into()), module.bytes.clone());
    let config_layer = titled(&config, RUNTIME_CONFIG_FILE);
    let content_layer = titled(&content, PLUGIN_FILE);
    Ok((
        config.clone(),
        vec![(config, Some(config_layer)), (content, Some(content_layer))],
    ))
}

/// `blob`'s descriptor with an `org.opencontainers.image.title`.
fn titled(blob: &Blob, title: &str) -> Descriptor {
    let mut d = blob.descriptor();
    d.set_annotations(Some([(ANNOTATION_TITLE.to_string(), title.to_string())].into()));
    d
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::oci::layer::plugin_from_tar_gz;
    use crate::oci::module::fixture;
    use crate::oci::read::wasm_of;
    use oci_spec::image::ImageManifest;
    use serde_json::Value;

    /// Metadata as `image build --filter waf` gives it, with no time.
    pub(crate) fn meta() -> Metadata {
        Metadata {
            title: "meshward-test".into(),
            description: "a test filter".into(),
            filter_file: "meshward_test.wasm".into(),
            version: "0.1.0".into(),
            licenses: Some("Apache-2.0".into()),
            source: None,
            revision: None,
            created: None,
        }
    }

    fn manifest(image: &Image) -> (ImageManifest, Value) {
        (
            serde_json::from_slice(&image.manifest.bytes).unwrap(),
            serde_json::from_slice(&image.manifest.bytes).unwrap(),
        )
    }

    /// The module as Istio would read it from `image`.
    fn read_back(image: &Image) -> (Variant, Vec<u8>) {
        let (m, _) = manifest(image);
        let found = wasm_of(&m, |d| {
            image
                .blobs
                .iter()
                .find(|b| b.digest == *d.digest())
                .map(|b| b.bytes.clone())
                .ok_or("missing blob")
        })
        .unwrap();
        (found.variant, found.wasm)
    }

    #[test]
    fn the_same_input_gives_the_same_bytes_and_digests() {
        let module = fixture::filter();
        for variant in [Variant::Compat, Variant::Oci] {
            let a = build(&module, &meta(), variant).unwrap();
            let b = build(&module, &meta(), variant).unwrap();
            assert_eq!(a, b, "{variant}");
            let mut other = meta();
            other.version = "0.2.0".into();
            let c = build(&module, &other, variant).unwrap();
            assert_ne!(
                a.manifest.digest, c.manifest.digest,
                "{variant}: metadata is in the digest"
            );
        }
    }

    #[test]
    fn compat_is_an_oci_image_with_one_tar_gzip_layer_holding_plugin_wasm() {
        let module = fixture::filter();
        let image = build(&module, &meta(), Variant::Compat).unwrap();
        let (m, json) = manifest(&image);
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(json["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
        assert_eq!(json["layers"].as_array().unwrap().len(), 1);
        assert_eq!(
            json["layers"][0]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        assert_eq!(json["annotations"]["module.wasm.image/variant"], "compat");
        assert_eq!(json["annotations"]["org.opencontainers.image.title"], "meshward-test");
        assert_eq!(
            json["annotations"]["meshward.wasm.digest"],
            sha256(&module.bytes).to_string()
        );
        assert!(json["annotations"].get("org.opencontainers.image.created").is_none());

        let config = image.blobs.iter().find(|b| b.digest == *m.config().digest()).unwrap();
        let config: Value = serde_json::from_slice(&config.bytes).unwrap();
        assert_eq!(
            (config["architecture"].as_str(), config["os"].as_str()),
            (Some("wasm"), Some("wasip1"))
        );
        assert!(config.get("created").is_none());
        let layer = image
            .blobs
            .iter()
            .find(|b| b.digest == *m.layers()[0].digest())
            .unwrap();
        assert_eq!(plugin_from_tar_gz(&layer.bytes).unwrap(), module.bytes);
        let tar = plugin_tar(&module.bytes).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], sha256(&tar).to_string());
        assert_eq!(read_back(&image), (Variant::Compat, module.bytes.clone()));
    }

    #[test]
    fn oci_is_a_runtime_config_and_the_raw_module_as_two_layers() {
        let module = fixture::filter();
        let image = build(&module, &meta(), Variant::Oci).unwrap();
        let (_, json) = manifest(&image);
        assert_eq!(json["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(
            json["config"]["mediaType"],
            "application/vnd.module.wasm.config.v1+json"
        );
        let layers = json["layers"].as_array().unwrap();
        let types: Vec<&str> = layers.iter().map(|l| l["mediaType"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "application/vnd.module.wasm.config.v1+json",
                "application/vnd.module.wasm.content.layer.v1+wasm"
            ]
        );
        assert_eq!(layers[0]["digest"], json["config"]["digest"]);
        assert_eq!(layers[1]["digest"], sha256(&module.bytes).to_string());
        assert_eq!(
            layers[1]["annotations"]["org.opencontainers.image.title"],
            "plugin.wasm"
        );
        assert_eq!(
            json["annotations"]["module.wasm.runtime/abi_version"],
            "proxy_abi_version_0_2_1"
        );
        assert_eq!(json["annotations"]["module.wasm.runtime/type"], "envoy_proxy");
        assert!(json["annotations"].get("module.wasm.image/variant").is_none());
        assert_eq!(image.blobs.len(), 2, "the config is stored once");
        assert_eq!(
            String::from_utf8(image.blobs[0].bytes.clone()).unwrap(),
            r#"{"abiVersions":["proxy_abi_version_0_2_1"],"config":{},"type":"envoy_proxy"}"#
        );
        assert_eq!(read_back(&image), (Variant::Oci, module.bytes.clone()));
    }

    #[test]
    fn a_created_time_is_recorded_in_the_annotation_and_the_config() {
        let mut m = meta();
        m.created = Some("2023-11-14T22:13:20Z".into());
        let image = build(&fixture::filter(), &m, Variant::Compat).unwrap();
        let (_, json) = manifest(&image);
        assert_eq!(
            json["annotations"]["org.opencontainers.image.created"],
            "2023-11-14T22:13:20Z"
        );
        let config: Value = serde_json::from_slice(&image.blobs[0].bytes).unwrap();
        assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    }
}
