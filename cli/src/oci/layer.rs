//! The *compat* variant's layer: a tar holding `plugin.wasm` at its root, gzip-compressed,
//! byte-for-byte reproducible (fixed mode, owner, time; a gzip header without name or time).

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

use crate::oci::media::PLUGIN_FILE;

/// File mode of `plugin.wasm` in the tar (read-only for group and others).
const PLUGIN_MODE: u32 = 0o644;
/// gzip level: the smallest layer; the time is spent once, at build.
const LEVEL: u32 = 9;
/// gzip header OS byte: "unknown", so the layer is the same on every build machine.
const GZIP_OS_UNKNOWN: u8 = 255;

/// A tar archive holding `wasm` as `plugin.wasm` (ustar; owner 0:0, mode 0644, mtime 0).
pub fn plugin_tar(wasm: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut header = tar::Header::new_ustar();
    header.set_path(PLUGIN_FILE)?;
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(wasm.len() as u64);
    header.set_mode(PLUGIN_MODE);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_username("")?;
    header.set_groupname("")?;
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, wasm)?;
    builder.into_inner()
}

/// `bytes` gzip-compressed, with no file name and a zero time in the header.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder: GzEncoder<Vec<u8>> = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(Vec::new(), Compression::new(LEVEL));
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Why `plugin.wasm` could not be read from a tar+gzip layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The layer is not a gzip-compressed tar.
    #[error("the layer is not a tar.gz: {0}")]
    Archive(#[from] std::io::Error),
    /// No entry is named `plugin.wasm`.
    #[error("{PLUGIN_FILE} not found in the layer")]
    NoPlugin,
}

/// The content of the first entry whose base name is `plugin.wasm` (the way Istio finds it).
pub fn plugin_from_tar_gz(layer: &[u8]) -> Result<Vec<u8>, LayerError> {
    let mut archive = tar::Archive::new(GzDecoder::new(layer));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if path.file_name() == Some(Path::new(PLUGIN_FILE).as_os_str()) {
            let mut wasm = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut wasm)?;
            return Ok(wasm);
        }
    }
    Err(LayerError::NoPlugin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_is_the_same_bytes_every_time_and_holds_only_plugin_wasm() {
        let wasm = b"\0asm\x01\0\0\0 some module bytes".repeat(100);
        let a = gzip(&plugin_tar(&wasm).unwrap()).unwrap();
        let b = gzip(&plugin_tar(&wasm).unwrap()).unwrap();
        assert_eq!(a, b);
        // gzip header: magic, deflate, no flags (no name), mtime 0, OS unknown.
        assert_eq!(&a[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
        let mut archive = tar::Archive::new(GzDecoder::new(&a[..]));
        let entries: Vec<_> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.mtime().unwrap(),
                    h.entry_type(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [("plugin.wasm".to_string(), 0o644, 0, 0, 0, tar::EntryType::Regular)]
        );
        assert_eq!(plugin_from_tar_gz(&a).unwrap(), wasm);
    }

    #[test]
    fn plugin_wasm_is_found_by_base_name_and_its_absence_is_named() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header.clone(), "README", &b"doc"[..]).unwrap();
        builder
            .append_data(&mut header, "dir/plugin.wasm", &b"abc"[..])
            .unwrap();
        let layer = gzip(&builder.into_inner().unwrap()).unwrap();
        assert_eq!(plugin_from_tar_gz(&layer).unwrap(), b"abc");

        let empty = gzip(&tar::Builder::new(Vec::new()).into_inner().unwrap()).unwrap();
        assert!(matches!(plugin_from_tar_gz(&empty), Err(LayerError::NoPlugin)));
        assert!(matches!(plugin_from_tar_gz(b"plain text"), Err(LayerError::Archive(_))));
    }
}
