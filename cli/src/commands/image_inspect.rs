//! `meshward image inspect DIR`: what an OCI image layout holds (digests, sizes, media types,
//! annotations), each blob checked against its digest and the module read back the way Istio
//! reads it.

use std::collections::BTreeMap;

use oci_spec::image::{Descriptor, ImageManifest};
use serde::Serialize;

use crate::args::InspectArgs;
use crate::oci::blob::sha256;
use crate::oci::layout::{Entry, Layout};
use crate::oci::read::{wasm_of, Extracted};
use crate::CliError;

/// Runs the command.
pub fn run(args: &InspectArgs) -> Result<(), CliError> {
    let layout = Layout::open(&args.dir)?;
    let images = layout
        .entries()
        .iter()
        .map(|entry| inspect(&layout, entry))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        let report = Report {
            layout: args.dir.display().to_string(),
            images,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serializes")
        );
    } else {
        print_text(&args.dir.display().to_string(), &images);
    }
    Ok(())
}

/// What `inspect` prints, also as JSON.
#[derive(Debug, Serialize)]
struct Report {
    layout: String,
    images: Vec<ImageReport>,
}

/// One image of the layout.
#[derive(Debug, Serialize)]
struct ImageReport {
    ref_name: Option<String>,
    variant: String,
    manifest: BlobReport,
    config: BlobReport,
    layers: Vec<BlobReport>,
    /// The module as Istio gets it.
    wasm: WasmReport,
    annotations: BTreeMap<String, String>,
}

/// A blob: digest, size, media type.
#[derive(Debug, Serialize)]
struct BlobReport {
    digest: String,
    size: u64,
    media_type: String,
}

/// The module inside the image.
#[derive(Debug, Serialize)]
struct WasmReport {
    digest: String,
    /// Its own size.
    size: u64,
    /// The size of the layer it travels in (gzip for *compat*, the same for *oci*).
    layer_size: u64,
}

impl BlobReport {
    fn of(d: &Descriptor) -> BlobReport {
        BlobReport {
            digest: d.digest().to_string(),
            size: d.size(),
            media_type: d.media_type().to_string(),
        }
    }
}

fn inspect(layout: &Layout, entry: &Entry) -> Result<ImageReport, CliError> {
    let (_, manifest): (_, ImageManifest) = layout.manifest(entry)?;
    layout.blob(manifest.config())?;
    for layer in manifest.layers() {
        layout.blob(layer)?;
    }
    let Extracted { variant, layer, wasm } =
        wasm_of(&manifest, |d| layout.blob(d).map(|b| b.bytes)).map_err(|source| CliError::Unreadable {
            dir: layout.dir().to_path_buf(),
            source: Box::new(source),
        })?;
    Ok(ImageReport {
        ref_name: entry.ref_name.clone(),
        variant: variant.to_string(),
        manifest: BlobReport::of(&entry.descriptor),
        config: BlobReport::of(manifest.config()),
        layers: manifest.layers().iter().map(BlobReport::of).collect(),
        wasm: WasmReport {
            digest: sha256(&wasm).to_string(),
            size: wasm.len() as u64,
            layer_size: layer.size(),
        },
        annotations: manifest.annotations().clone().unwrap_or_default().into_iter().collect(),
    })
}

fn print_text(dir: &str, images: &[ImageReport]) {
    println!("{dir}: OCI image layout, {} image(s)", images.len());
    for image in images {
        let tag = image.ref_name.as_deref().unwrap_or("(no tag)");
        println!("image {tag}: {} variant", image.variant);
        let row = |what: &str, b: &BlobReport| {
            println!("  {what:<9} {}  {:>9} bytes  {}", b.digest, b.size, b.media_type);
        };
        row("manifest", &image.manifest);
        row("config", &image.config);
        for layer in &image.layers {
            row("layer", layer);
        }
        println!(
            "  {:<9} {}  {:>9} bytes  (in a {} byte layer)",
            "wasm", image.wasm.digest, image.wasm.size, image.wasm.layer_size
        );
        for (key, value) in &image.annotations {
            println!("  annotation {key}={value}");
        }
    }
}
