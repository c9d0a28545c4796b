//! A proxy-wasm filter as an OCI image, in the two variants of the Wasm image specification
//! that Istio's image fetcher (`pkg/wasm/imagefetcher.go`) reads, written to and read from an
//! OCI image layout on disk. Everything here is reproducible: the same `.wasm` and metadata
//! give byte-identical blobs and the same manifest digest.

pub mod blob;
pub mod build;
pub mod canonical;
pub mod layer;
pub mod layout;
pub mod media;
pub mod metadata;
pub mod module;
pub mod read;
pub mod variant;
