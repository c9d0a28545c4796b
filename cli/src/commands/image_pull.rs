//! `meshward image pull REF --out FILE`: fetches an image the way Istio's image fetcher does
//! and writes the module it holds.

use crate::args::PullArgs;
use crate::commands::connect::client;
use crate::registry::endpoint::Target;
use crate::registry::pull::pull;
use crate::CliError;

/// Runs the command.
pub fn run(args: &PullArgs) -> Result<(), CliError> {
    let target = Target::parse(&args.reference, args.registry.insecure).map_err(|e| CliError::Usage(e.to_string()))?;
    let reference = target
        .digest
        .clone()
        .or_else(|| target.tag.clone())
        .unwrap_or_else(|| "latest".to_string());
    let mut client = client(&args.registry, target)?;
    let pulled = pull(&mut client, &reference)?;
    std::fs::write(&args.out, &pulled.extracted.wasm).map_err(|source| CliError::Write {
        path: args.out.clone(),
        source,
    })?;
    println!("digest {}", pulled.manifest_digest);
    println!(
        "{}: {} bytes from the {} variant (layer {})",
        args.out.display(),
        pulled.extracted.wasm.len(),
        pulled.extracted.variant,
        pulled.extracted.layer.digest()
    );
    Ok(())
}
