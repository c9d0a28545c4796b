//! `meshward image push DIR REF`: pushes the image of a layout to a registry and prints the
//! manifest digest to pin in an Istio `WasmPlugin`.

use std::io::BufRead;

use crate::args::PushArgs;
use crate::oci::layout::Layout;
use crate::registry::auth::Credentials;
use crate::registry::client::Client;
use crate::registry::endpoint::Target;
use crate::registry::push::{push, BlobOutcome};
use crate::CliError;

/// Runs the command.
pub fn run(args: &PushArgs) -> Result<(), CliError> {
    let layout = Layout::open(&args.dir)?;
    let entry = layout.single()?;
    let target = Target::parse(&args.reference, args.insecure).map_err(|e| CliError::Usage(e.to_string()))?;
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
    let credentials = credentials(args)?;
    let mut client = Client::new(target, credentials);
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
    println!(
        "pushed {}/{}:{reference}",
        target.registry, target.repository
    );
    println!("digest {manifest_digest}");
    println!(
        "pin it: url: oci://{}/{}@{manifest_digest}  (or sha256: {})",
        target.registry,
        target.repository,
        entry.descriptor.digest().digest()
    );
    Ok(())
}

/// The credentials the options and environment give: a token wins over a user name.
fn credentials(args: &PushArgs) -> Result<Credentials, CliError> {
    if let Some(token) = &args.token {
        return Ok(Credentials::Token(token.clone()));
    }
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|source| CliError::Read {
                path: "<stdin>".into(),
                source,
            })?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        args.password.clone()
    };
    match (&args.username, password) {
        (Some(username), Some(password)) => Ok(Credentials::Basic {
            username: username.clone(),
            password,
        }),
        (None, None) => Ok(Credentials::Anonymous),
        (Some(_), None) => Err(CliError::Usage(
            "--username needs a password: --password, --password-stdin or MESHWARD_REGISTRY_PASSWORD".into(),
        )),
        (None, Some(_)) => Err(CliError::Usage(
            "a password needs --username (or MESHWARD_REGISTRY_USERNAME)".into(),
        )),
    }
}
