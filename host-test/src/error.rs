//! Typed errors of the host.

use std::path::PathBuf;

/// Everything that can go wrong while loading or driving a filter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The wasm file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Wasmtime rejected the module or failed to instantiate it.
    #[error("cannot load wasm module: {0}")]
    Load(String),
    /// The module imports a function this host does not provide.
    #[error("module imports unknown function {module}.{name}")]
    UnknownImport {
        /// Import module (`env`, `wasi_snapshot_preview1`...).
        module: String,
        /// Function name.
        name: String,
    },
    /// The module does not export memory or an allocator.
    #[error("module lacks required export `{0}`")]
    MissingExport(&'static str),
    /// The module trapped (panic, unreachable, proc_exit...) in the named callback.
    #[error("wasm trapped in {callback}: {message}")]
    Trap {
        /// The export that was running.
        callback: String,
        /// Wasmtime's description, with the wasm backtrace.
        message: String,
    },
    /// `proxy_on_vm_start` returned false.
    #[error("proxy_on_vm_start returned false (VM start rejected)")]
    VmStartRejected,
    /// `proxy_on_configure` returned false: the plugin configuration was rejected.
    #[error("proxy_on_configure returned false for root_id {root_id:?} (configuration rejected){}", logged_suffix(.logs))]
    ConfigRejected {
        /// Root id whose configuration was rejected.
        root_id: String,
        /// `level: message` of each line the filter logged while configuring (Envoy shows these
        /// in its log before rejecting the filter).
        logs: Vec<String>,
    },
    /// The VM has failed earlier (a trap) and cannot be used anymore, as in Envoy.
    #[error("the VM failed earlier and is unusable")]
    VmFailed,
    /// A raw HTTP/1.1 message could not be parsed.
    #[error("invalid HTTP/1.1 message: {0}")]
    Http1(#[from] meshward_testkit::http1::Error),
    /// A built filter is not where the settings say.
    #[error(transparent)]
    Locate(#[from] meshward_testkit::locate::LocateError),
    /// A socket or thread operation of `serve` failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done (`binding 127.0.0.1:8080`...).
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// A command-line argument is wrong.
    #[error("{0}")]
    Usage(String),
    /// The stream API was used out of order.
    #[error("stream misuse: {0}")]
    Misuse(String),
}

fn logged_suffix(logs: &[String]) -> String {
    if logs.is_empty() {
        String::new()
    } else {
        format!("; the filter logged: {}", logs.join(" | "))
    }
}
