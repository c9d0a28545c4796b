//! `meshward image push DIR REF`: pushes the image of a layout to a registry and prints the
//! manifest digest to pin in an Istio `WasmPlugin`.

use crate::args::PushArgs;
use crate::commands::connect::client;
use crate::oci::layout::Layout;
use crate::registry::endpoint::Target;
use crate::registry::push::{push, BlobOutcome};
use crate::CliError;

/// Runs the command.
pub fn run(args: &PushArgs) -> Result<(), CliError> {
    let layout = Layout::open(&args.dir)?;
    let entry = layout.single()?;
    let target = Target::parse(&args.reference, args.registry.insecure).map_err(|e| CliError::Usage(e.to_string()))?;
    let manifest_digest = entry.descriptor.digest().to_string();
    let reference = match (&target.digest, &target.tag, &entry.ref_name) {
        (Some(digest), _, _) if *digest != manifest_digest => {
            return Err(CliError::Usage(format!(
                "{}: names {digest}, but the layout's manifest is {manifest_digest}",
                args.reference
            )))
        }
        (Some(digest), _, _) => digest.clone(),
        (None, Some(tag), _) | (None, None, Some(tag)) => tag.clone(),
        (None, None, None) => "latest".to_string(),
    };
    let mut client = client(&args.registry, target)?;
    let pushed = push(&mut client, &layout, &entry, &reference, args.chunk_size)?;
    let target = client.target();
    for blob in &pushed.blobs {
        let what = match blob.outcome {
            BlobOutcome::Uploaded => "uploaded",
            BlobOutcome::Existed => "exists, skipped",
        };
        println!(
            "blob {} ({} bytes): {what}",
            blob.descriptor.digest(),
            blob.descriptor.size()
        );
    }
    println!("pushed {}/{}:{reference}", target.registry, target.repository);
    println!("digest {manifest_digest}");
    println!(
        "pin it: url: oci://{}/{}@{manifest_digest}  (or sha256: {})",
        target.registry,
        target.repository,
        entry.descriptor.digest().digest()
    );
    Ok(())
}
