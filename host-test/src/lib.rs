//! proxy-wasm host on wasmtime.
