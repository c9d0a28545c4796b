//! What a `.wasm` file is, as far as an image needs to know: a proxy-wasm filter (it exports
//! `proxy_abi_version_*`), which ABI version, and whether it imports WASI.

use wasmparser::{Parser, Payload};

/// The export prefix every proxy-wasm module has, followed by its ABI version (`0_2_1`).
const ABI_EXPORT_PREFIX: &str = "proxy_abi_version_";
/// The WASI preview 1 import module (modules built for `wasm32-wasip1`).
const WASI_P1_MODULE: &str = "wasi_snapshot_preview1";

/// Why a file is not a proxy-wasm filter.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The bytes are not a WebAssembly module.
    #[error("not a WebAssembly module: {0}")]
    NotWasm(#[from] wasmparser::BinaryReaderError),
    /// A WebAssembly component, not a core module (proxy-wasm hosts load core modules).
    #[error("a WebAssembly component, not a core module; proxy-wasm hosts load core modules")]
    Component,
    /// A module without the proxy-wasm ABI export.
    #[error("not a proxy-wasm filter: it exports no `proxy_abi_version_*` function")]
    NotProxyWasm,
}

/// A proxy-wasm module's bytes and what they declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmModule {
    /// The `.wasm` file's bytes.
    pub bytes: Vec<u8>,
    /// The ABI export's name, e.g. `proxy_abi_version_0_2_1`.
    pub abi_version: String,
    /// Whether it imports WASI preview 1 (built for `wasm32-wasip1`).
    pub wasi: bool,
}

impl WasmModule {
    /// Reads a module's imports and exports.
    pub fn parse(bytes: Vec<u8>) -> Result<WasmModule, ModuleError> {
        let mut abi_version = None;
        let mut wasi = false;
        for payload in Parser::new(0).parse_all(&bytes) {
            match payload? {
                Payload::Version {
                    encoding: wasmparser::Encoding::Component,
                    ..
                } => return Err(ModuleError::Component),
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        wasi |= import?.module == WASI_P1_MODULE;
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        if export.name.starts_with(ABI_EXPORT_PREFIX) {
                            abi_version = Some(export.name.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        let abi_version = abi_version.ok_or(ModuleError::NotProxyWasm)?;
        Ok(WasmModule {
            bytes,
            abi_version,
            wasi,
        })
    }

    /// The OS of the image configuration: `wasip1` for a WASI module, else `unknown`.
    pub fn os(&self) -> &'static str {
        if self.wasi {
            "wasip1"
        } else {
            "unknown"
        }
    }
}

/// Tiny hand-assembled modules for tests.
#[cfg(test)]
pub(crate) mod fixture {
    /// A module with one function import from `import_module` and one export `export`.
    pub(crate) fn module(import_module: &str, export: &str) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // type section: one type, () -> ()
        m.extend([1, 4, 1, 0x60, 0, 0]);
        // import section: one function import of type 0
        let mut imports = vec![1, import_module.len() as u8];
        imports.extend(import_module.as_bytes());
        imports.extend([1, b'f', 0, 0]);
        m.push(2);
        m.push(imports.len() as u8);
        m.extend(imports);
        // export section: export function 0 (the import) under `export`
        let mut exports = vec![1, export.len() as u8];
        exports.extend(export.as_bytes());
        exports.extend([0, 0]);
        m.push(7);
        m.push(exports.len() as u8);
        m.extend(exports);
        m
    }

    /// A proxy-wasm module for `wasm32-wasip1`.
    pub(crate) fn filter() -> super::WasmModule {
        super::WasmModule::parse(module("wasi_snapshot_preview1", "proxy_abi_version_0_2_1")).expect("a filter")
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::module;
    use super::*;

    #[test]
    fn a_proxy_wasm_module_names_its_abi_and_wasi() {
        let m = WasmModule::parse(module("wasi_snapshot_preview1", "proxy_abi_version_0_2_1")).unwrap();
        assert_eq!(m.abi_version, "proxy_abi_version_0_2_1");
        assert!(m.wasi);
        assert_eq!(m.os(), "wasip1");
        let m = WasmModule::parse(module("env", "proxy_abi_version_0_2_0")).unwrap();
        assert!(!m.wasi);
        assert_eq!(m.os(), "unknown");
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        let err = WasmModule::parse(module("env", "main")).unwrap_err();
        assert!(matches!(err, ModuleError::NotProxyWasm), "{err}");
        let err = WasmModule::parse(b"{\"not\": \"wasm\"}".to_vec()).unwrap_err();
        assert!(err.to_string().starts_with("not a WebAssembly module: "), "{err}");
        let component = b"\0asm\x0d\0\x01\0".to_vec();
        assert!(matches!(WasmModule::parse(component), Err(ModuleError::Component)));
    }
}
