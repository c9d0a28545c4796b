//! `meshward image build`: packages a filter as an OCI image layout, in either variant of the
//! Wasm image specification, reproducibly.

use std::path::{Path, PathBuf};

use meshward_testkit::locate;

use crate::args::BuildArgs;
use crate::oci::build::build;
use crate::oci::layout;
use crate::oci::metadata::{created_at, Metadata};
use crate::oci::module::WasmModule;
use crate::CliError;

/// The license of meshward's own filters (the workspace's).
const MESHWARD_LICENSE: &str = env!("CARGO_PKG_LICENSE");

/// A filter `--filter` can name by a short name.
struct Known {
    /// The `--filter` word.
    word: &'static str,
    /// The artifact `cargo xtask wasm` builds.
    file: &'static str,
    /// The image title.
    title: &'static str,
    /// The image description.
    description: &'static str,
}

/// meshward's filters.
const KNOWN: [Known; 2] = [
    Known {
        word: "waf",
        file: "meshward_waf.wasm",
        title: "meshward-waf",
        description: "meshward WAF: OWASP CRS on meshward's SecLang engine, as a proxy-wasm filter",
    },
    Known {
        word: "policy",
        file: "meshward_netpolicy.wasm",
        title: "meshward-netpolicy",
        description: "meshward L7 network policy: identity-aware allow/deny, as a proxy-wasm filter",
    },
];

/// Runs the command.
pub fn run(args: &BuildArgs) -> Result<(), CliError> {
    if let Some(tag) = &args.tag {
        check_tag(tag)?;
    }
    let (path, mut meta) = resolve(&args.filter)?;
    let bytes = std::fs::read(&path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    let module = WasmModule::parse(bytes).map_err(|source| CliError::Module {
        path: path.clone(),
        source,
    })?;
    if let Some(version) = &args.image_version {
        meta.version = version.clone();
    }
    meta.source = args.source.clone();
    meta.revision = args.revision.clone();
    meta.created = args.source_date_epoch.map(created_at).transpose()?;
    let image = build(&module, &meta, args.variant)?;
    layout::write(&args.out, &image, args.tag.as_deref())?;
    println!(
        "{}: {} image of {} ({} bytes, {})",
        args.out.display(),
        args.variant,
        path.display(),
        module.bytes.len(),
        module.abi_version
    );
    println!("manifest {} ({} bytes)", image.manifest.digest, image.manifest.size());
    for blob in &image.blobs {
        println!("blob     {} ({} bytes, {})", blob.digest, blob.size(), blob.media_type);
    }
    Ok(())
}

/// The `.wasm` file `--filter` names and the image's metadata for it.
fn resolve(filter: &str) -> Result<(PathBuf, Metadata), CliError> {
    let version = env!("CARGO_PKG_VERSION").to_string();
    if let Some(known) = KNOWN.iter().find(|k| k.word == filter) {
        let path = locate::wasm_file(known.file)?;
        let meta = Metadata {
            title: known.title.into(),
            description: known.description.into(),
            filter_file: known.file.into(),
            version,
            licenses: Some(MESHWARD_LICENSE.into()),
            source: None,
            revision: None,
            created: None,
        };
        return Ok((path, meta));
    }
    let path = Path::new(filter);
    if path.extension().is_none_or(|e| e != "wasm") {
        let words: Vec<&str> = KNOWN.iter().map(|k| k.word).collect();
        return Err(CliError::Usage(format!(
            "--filter {filter}: expected {} or the path of a .wasm file",
            words.join(", ")
        )));
    }
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = Metadata {
        title: stem.replace('_', "-"),
        description: format!("proxy-wasm filter {file}"),
        filter_file: file,
        version,
        licenses: None,
        source: None,
        revision: None,
        created: None,
    };
    Ok((path.to_path_buf(), meta))
}

/// A tag as the distribution spec allows it: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub(crate) fn check_tag(tag: &str) -> Result<(), CliError> {
    let mut chars = tag.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && tag.len() <= 128 {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "tag {tag:?}: a tag is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_distribution_spec() {
        for ok in ["latest", "0.1.0", "v1_rc-2", "_x", &"a".repeat(128)] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", &"a".repeat(129)] {
            let err = check_tag(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn short_names_and_other_words() {
        let err = resolve("nginx").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--filter nginx: expected waf, policy or the path of a .wasm file"
        );
        assert_eq!(err.exit_code(), 2);
        let (path, meta) = resolve("/tmp/my_filter.wasm").unwrap();
        assert_eq!(path, Path::new("/tmp/my_filter.wasm"));
        assert_eq!(
            (meta.title.as_str(), meta.filter_file.as_str()),
            ("my-filter", "my_filter.wasm")
        );
    }
}
