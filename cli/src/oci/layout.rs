//! The OCI image layout on disk (image-spec `image-layout.md`): `oci-layout`, `index.json` and
//! `blobs/sha256/<hex>`. `write` puts one image there; `Layout` reads any layout back and
//! checks every blob against its descriptor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::image::{
    Descriptor, ImageIndex, ImageIndexBuilder, ImageManifest, MediaType, OciLayoutBuilder, ANNOTATION_REF_NAME,
};
use oci_spec::OciSpecError;

use crate::oci::blob::{sha256, Blob};
use crate::oci::build::Image;
use crate::oci::canonical;

/// The file that marks a directory as an OCI image layout.
pub const LAYOUT_FILE: &str = "oci-layout";
/// The layout's entry point: the images it holds.
pub const INDEX_FILE: &str = "index.json";
/// Where blobs are, by algorithm then hex digest.
pub const BLOBS_DIR: &str = "blobs";
/// The layout version this program writes and reads.
pub const LAYOUT_VERSION: &str = "1.0.0";

/// A layout could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The output directory holds something other than a layout.
    #[error("{} is not empty and not an OCI image layout; remove it or choose another directory", dir.display())]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    /// A layout document is not what the image spec says.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The document.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A blob's content does not match its descriptor.
    #[error("blob {digest}: {reason}")]
    Corrupt {
        /// The descriptor's digest.
        digest: String,
        /// The mismatch.
        reason: String,
    },
    /// A document could not be built or serialized.
    #[error("writing the layout: {0}")]
    Serialize(String),
}

impl From<OciSpecError> for LayoutError {
    fn from(e: OciSpecError) -> Self {
        LayoutError::Serialize(e.to_string())
    }
}

impl From<serde_json::Error> for LayoutError {
    fn from(e: serde_json::Error) -> Self {
        LayoutError::Serialize(e.to_string())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `image` as the only image of a layout in `dir`, named `tag` in the index. `dir` is
/// created; if it holds a layout already, that layout is replaced.
pub fn write(dir: &Path, image: &Image, tag: Option<&str>) -> Result<(), LayoutError> {
    clear(dir)?;
    let blob_dir = dir.join(BLOBS_DIR).join("sha256");
    std::fs::create_dir_all(&blob_dir).map_err(io(&blob_dir))?;
    for blob in image.blobs.iter().chain([&image.manifest]) {
        let path = blob_dir.join(blob.digest.digest());
        std::fs::write(&path, &blob.bytes).map_err(io(&path))?;
    }
    let mut manifest = image.manifest.descriptor();
    if let Some(tag) = tag {
        manifest.set_annotations(Some(HashMap::from([(
            ANNOTATION_REF_NAME.to_string(),
            tag.to_string(),
        )])));
    }
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest])
        .build()?;
    let index_path = dir.join(INDEX_FILE);
    std::fs::write(&index_path, canonical::to_vec(&index)?).map_err(io(&index_path))?;
    let layout = OciLayoutBuilder::default()
        .image_layout_version(LAYOUT_VERSION)
        .build()?;
    let layout_path = dir.join(LAYOUT_FILE);
    std::fs::write(&layout_path, canonical::to_vec(&layout)?).map_err(io(&layout_path))?;
    Ok(())
}

/// Makes `dir` an empty directory, refusing to delete anything that is not a layout.
fn clear(dir: &Path) -> Result<(), LayoutError> {
    if !dir.exists() {
        return std::fs::create_dir_all(dir).map_err(io(dir));
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    if entries.is_empty() {
        return Ok(());
    }
    let ours = |p: &PathBuf| {
        p.file_name()
            .is_some_and(|n| [LAYOUT_FILE, INDEX_FILE, BLOBS_DIR].iter().any(|o| n == *o))
    };
    if !dir.join(LAYOUT_FILE).is_file() || !entries.iter().all(ours) {
        return Err(LayoutError::NotEmpty { dir: dir.to_path_buf() });
    }
    for path in entries {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(io(&path))?;
    }
    Ok(())
}

/// One image listed in a layout's index.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The manifest's descriptor.
    pub descriptor: Descriptor,
    /// `org.opencontainers.image.ref.name`, the tag it was built with.
    pub ref_name: Option<String>,
}

/// A layout on disk, opened for reading.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
    index: ImageIndex,
}

impl Layout {
    /// Opens the layout in `dir`: `oci-layout` must name version 1.0.0 and `index.json` parse.
    pub fn open(dir: &Path) -> Result<Layout, LayoutError> {
        let layout_path = dir.join(LAYOUT_FILE);
        let text = std::fs::read(&layout_path).map_err(io(&layout_path))?;
        let marker: oci_spec::image::OciLayout = serde_json::from_slice(&text).map_err(|e| invalid(&layout_path, e))?;
        if marker.image_layout_version() != LAYOUT_VERSION {
            return Err(invalid(
                &layout_path,
                format!(
                    "imageLayoutVersion {} (this program reads {LAYOUT_VERSION})",
                    marker.image_layout_version()
                ),
            ));
        }
        let index_path = dir.join(INDEX_FILE);
        let text = std::fs::read(&index_path).map_err(io(&index_path))?;
        let index = serde_json::from_slice(&text).map_err(|e| invalid(&index_path, e))?;
        Ok(Layout {
            dir: dir.to_path_buf(),
            index,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The images the index lists, in its order.
    pub fn entries(&self) -> Vec<Entry> {
        self.index
            .manifests()
            .iter()
            .map(|d| Entry {
                ref_name: d
                    .annotations()
                    .as_ref()
                    .and_then(|a| a.get(ANNOTATION_REF_NAME))
                    .cloned(),
                descriptor: d.clone(),
            })
            .collect()
    }

    /// The only image of the layout (`image build` writes one).
    pub fn single(&self) -> Result<Entry, LayoutError> {
        match self.entries().as_slice() {
            [one] => Ok(one.clone()),
            other => Err(invalid(
                &self.dir.join(INDEX_FILE),
                format!("lists {} images; this command needs exactly one", other.len()),
            )),
        }
    }

    /// The blob `descriptor` names, checked against its size and SHA-256 digest.
    pub fn blob(&self, descriptor: &Descriptor) -> Result<Blob, LayoutError> {
        let digest = descriptor.digest();
        let corrupt = |reason: String| LayoutError::Corrupt {
            digest: digest.to_string(),
            reason,
        };
        if digest.algorithm().as_ref() != "sha256" {
            return Err(corrupt(format!("unsupported digest algorithm {}", digest.algorithm())));
        }
        let path = self.dir.join(BLOBS_DIR).join("sha256").join(digest.digest());
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        if bytes.len() as u64 != descriptor.size() {
            return Err(corrupt(format!(
                "{} bytes, the descriptor says {}",
                bytes.len(),
                descriptor.size()
            )));
        }
        let actual = sha256(&bytes);
        if actual != *digest {
            return Err(corrupt(format!("content has digest {actual}")));
        }
        Ok(Blob {
            media_type: descriptor.media_type().clone(),
            bytes,
            digest: digest.clone(),
        })
    }

    /// An image's manifest: its blob and the parsed document.
    pub fn manifest(&self, entry: &Entry) -> Result<(Blob, ImageManifest), LayoutError> {
        let blob = self.blob(&entry.descriptor)?;
        let manifest = serde_json::from_slice(&blob.bytes).map_err(|e| LayoutError::Corrupt {
            digest: blob.digest.to_string(),
            reason: format!("not an image manifest: {e}"),
        })?;
        Ok((blob, manifest))
    }
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> LayoutError {
    LayoutError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::build::{build, tests::meta};
    use crate::oci::module::fixture;
    use crate::oci::variant::Variant;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("meshward-layout-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_written_layout_reads_back_with_its_tag_and_blobs() {
        let dir = scratch("roundtrip");
        let image = build(&fixture::filter(), &meta(), Variant::Compat).unwrap();
        write(&dir, &image, Some("0.1.0")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(LAYOUT_FILE)).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        let layout = Layout::open(&dir).unwrap();
        let entry = layout.single().unwrap();
        assert_eq!(entry.ref_name.as_deref(), Some("0.1.0"));
        assert_eq!(*entry.descriptor.digest(), image.manifest.digest);
        assert_eq!(*entry.descriptor.media_type(), MediaType::ImageManifest);
        let (blob, manifest) = layout.manifest(&entry).unwrap();
        assert_eq!(blob, image.manifest);
        assert_eq!(layout.blob(manifest.config()).unwrap(), image.blobs[0]);
        let mut files: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut expected: Vec<String> = image
            .blobs
            .iter()
            .chain([&image.manifest])
            .map(|b| b.digest.digest().to_string())
            .collect();
        expected.sort();
        assert_eq!(files, expected);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_changed_blob_is_reported_as_corrupt() {
        let dir = scratch("corrupt");
        let image = build(&fixture::filter(), &meta(), Variant::Oci).unwrap();
        write(&dir, &image, None).unwrap();
        let wasm = &image.blobs[1];
        let path = dir.join("blobs/sha256").join(wasm.digest.digest());
        let mut bytes = wasm.bytes.clone();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let layout = Layout::open(&dir).unwrap();
        let err = layout.blob(&wasm.descriptor()).unwrap_err();
        assert!(
            matches!(&err, LayoutError::Corrupt { reason, .. } if reason.starts_with("content has digest sha256:")),
            "{err}"
        );
        std::fs::write(&path, &bytes[1..]).unwrap();
        let err = layout.blob(&wasm.descriptor()).unwrap_err();
        assert!(err.to_string().contains("bytes, the descriptor says"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_an_empty_directory_or_an_old_layout_is_written_over() {
        let dir = scratch("overwrite");
        let compat = build(&fixture::filter(), &meta(), Variant::Compat).unwrap();
        let oci = build(&fixture::filter(), &meta(), Variant::Oci).unwrap();
        write(&dir, &compat, None).unwrap();
        write(&dir, &oci, None).unwrap();
        let layout = Layout::open(&dir).unwrap();
        assert_eq!(*layout.single().unwrap().descriptor.digest(), oci.manifest.digest);
        let stale = dir.join("blobs/sha256").join(compat.manifest.digest.digest());
        assert!(!stale.exists(), "the old image's blobs are gone");
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = write(&dir, &compat, None).unwrap_err();
        assert!(matches!(err, LayoutError::NotEmpty { .. }), "{err}");
        assert!(dir.join("notes.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
        let other = scratch("not-a-layout");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("index.json"), "{}").unwrap();
        assert!(matches!(
            write(&other, &compat, None),
            Err(LayoutError::NotEmpty { .. })
        ));
        std::fs::remove_dir_all(&other).unwrap();
    }
}
