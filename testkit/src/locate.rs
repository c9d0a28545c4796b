//! Where the workspace, the OWASP CRS release, the built wasm filters and the Envoy binary are.
//!
//! Each location has a default inside (or beside) the workspace and an environment variable
//! that overrides it. One rule holds for every variable: unset and empty mean the same thing,
//! "use the default" (so `MESHWARD_CRS_DIR= cargo test` cannot point a test at `./`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the CRS release directory.
pub const CRS_DIR_ENV: &str = "MESHWARD_CRS_DIR";
/// Environment variable naming the directory of the built `.wasm` filters.
pub const WASM_DIR_ENV: &str = "MESHWARD_WASM_DIR";
/// Environment variable naming the directory of the filters written with other SDKs.
pub const FOREIGN_WASM_DIR_ENV: &str = "MESHWARD_FOREIGN_WASM_DIR";
/// Environment variable naming the Envoy binary.
pub const ENVOY_ENV: &str = "MESHWARD_ENVOY";
/// Environment variable naming the OCI registry binary (CNCF distribution) the image tests start.
pub const REGISTRY_ENV: &str = "MESHWARD_REGISTRY";

/// The CRS release, relative to the workspace root (CRS is never committed; see rules/README.md).
pub const DEFAULT_CRS_DIR: &str = "../shared/crs/v4.28.0";
/// Where `cargo xtask wasm` puts the filters for the default target, relative to the workspace root.
pub const DEFAULT_WASM_DIR: &str = "target/filters/wasm32-wasip1";
/// Where `cargo xtask wasm` puts the filters written with other SDKs (`host-test/foreign`).
pub const DEFAULT_FOREIGN_WASM_DIR: &str = "target/filters/foreign";
/// Where `cargo xtask setup` installs Envoy, relative to the workspace root.
pub const DEFAULT_ENVOY: &str = ".venv/bin/envoy";
/// The registry binary of Debian's `docker-registry` package, which `cargo xtask setup` installs.
pub const DEFAULT_REGISTRY: &str = "/usr/bin/docker-registry";

/// A file a test or tool needs is not where the settings say.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// A built filter is missing.
    #[error("wasm file {path} is missing; build the filters with `cargo xtask wasm` (or set {dir_env})")]
    WasmMissing {
        /// The file looked for.
        path: PathBuf,
        /// The variable that names its directory.
        dir_env: &'static str,
    },
    /// The Envoy binary is missing or not a file.
    #[error("Envoy not found at {path} ({why}); run `cargo xtask setup` to install it into .venv, or set {ENVOY_ENV}")]
    EnvoyMissing {
        /// The path looked at.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The OCI registry binary is missing or not a file.
    #[error("OCI registry not found at {path} ({why}); run `cargo xtask setup` to install Debian's docker-registry, or set {REGISTRY_ENV}")]
    RegistryMissing {
        /// The path looked at.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

/// The workspace root (the directory holding this crate).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

/// The executable `name` in a directory of `PATH`; `None` when no directory has it.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The path in environment variable `name`; `None` when it is unset or empty.
pub fn env_path(name: &str) -> Option<PathBuf> {
    Resolver::process().env_path(name)
}

/// The CRS release: `$MESHWARD_CRS_DIR`, else `<workspace>/../shared/crs/v4.28.0`.
pub fn crs_dir() -> PathBuf {
    Resolver::process().crs_dir()
}

/// The built filters: `$MESHWARD_WASM_DIR`, else `<workspace>/target/filters/wasm32-wasip1`.
pub fn wasm_dir() -> PathBuf {
    Resolver::process().wasm_dir()
}

/// A built filter by crate or artifact name (`meshward-fixture-probe`, `meshward_fixture_probe`
/// or `meshward_fixture_probe.wasm` all name `meshward_fixture_probe.wasm`); it must exist.
pub fn wasm_file(name: &str) -> Result<PathBuf, LocateError> {
    Resolver::process().wasm_file(name)
}

/// A built filter at an explicit path (a `--wasm FILE` option, a test's own choice); it
/// must exist, else the error says how to build it.
pub fn wasm_file_at(path: &Path) -> Result<PathBuf, LocateError> {
    existing_wasm(path.to_path_buf(), WASM_DIR_ENV)
}

/// A built filter written with another SDK (`as_header_gate`): in `$MESHWARD_FOREIGN_WASM_DIR`,
/// else `<workspace>/target/filters/foreign`; it must exist.
pub fn foreign_wasm_file(name: &str) -> Result<PathBuf, LocateError> {
    Resolver::process().foreign_wasm_file(name)
}

/// The Envoy binary: `$MESHWARD_ENVOY`, else `<workspace>/.venv/bin/envoy`; it must be a file.
pub fn envoy_binary() -> Result<PathBuf, LocateError> {
    Resolver::process().envoy_binary()
}

/// The OCI registry binary: `$MESHWARD_REGISTRY`, else `/usr/bin/docker-registry`; it must be a file.
pub fn registry_binary() -> Result<PathBuf, LocateError> {
    Resolver::process().registry_binary()
}

/// The file name of a built filter: crate names use `-`, artifacts `_`.
fn artifact_file_name(name: &str) -> String {
    let stem = name.strip_suffix(".wasm").unwrap_or(name);
    format!("{}.wasm", stem.replace('-', "_"))
}

/// `path` if it is a file, else the error naming `dir_env`.
fn existing_wasm(path: PathBuf, dir_env: &'static str) -> Result<PathBuf, LocateError> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(LocateError::WasmMissing { path, dir_env })
    }
}

/// Resolves locations against a workspace root and an environment lookup, so that the rules
/// are tested on an injected environment instead of the process's (which tests share).
struct Resolver<'a> {
    root: PathBuf,
    var: &'a dyn Fn(&str) -> Option<OsString>,
}

impl Resolver<'static> {
    fn process() -> Self {
        Resolver {
            root: workspace_root(),
            var: &|name| std::env::var_os(name),
        }
    }
}

impl Resolver<'_> {
    fn env_path(&self, name: &str) -> Option<PathBuf> {
        (self.var)(name).filter(|v| !v.is_empty()).map(PathBuf::from)
    }

    fn crs_dir(&self) -> PathBuf {
        self.env_path(CRS_DIR_ENV)
            .unwrap_or_else(|| self.root.join(DEFAULT_CRS_DIR))
    }

    fn wasm_dir(&self) -> PathBuf {
        self.env_path(WASM_DIR_ENV)
            .unwrap_or_else(|| self.root.join(DEFAULT_WASM_DIR))
    }

    fn wasm_file(&self, name: &str) -> Result<PathBuf, LocateError> {
        existing_wasm(self.wasm_dir().join(artifact_file_name(name)), WASM_DIR_ENV)
    }

    fn foreign_wasm_file(&self, name: &str) -> Result<PathBuf, LocateError> {
        let dir = self
            .env_path(FOREIGN_WASM_DIR_ENV)
            .unwrap_or_else(|| self.root.join(DEFAULT_FOREIGN_WASM_DIR));
        existing_wasm(dir.join(artifact_file_name(name)), FOREIGN_WASM_DIR_ENV)
    }

    fn envoy_binary(&self) -> Result<PathBuf, LocateError> {
        let path = self
            .env_path(ENVOY_ENV)
            .unwrap_or_else(|| self.root.join(DEFAULT_ENVOY));
        existing_file(path, |path, why| LocateError::EnvoyMissing { path, why })
    }

    fn registry_binary(&self) -> Result<PathBuf, LocateError> {
        let path = self
            .env_path(REGISTRY_ENV)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_REGISTRY));
        existing_file(path, |path, why| LocateError::RegistryMissing { path, why })
    }
}

/// `path` if it is a file, else `missing(path, why)`.
fn existing_file(path: PathBuf, missing: fn(PathBuf, String) -> LocateError) -> Result<PathBuf, LocateError> {
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(path),
        Ok(_) => Err(missing(path, "not a file".into())),
        Err(e) => Err(missing(path, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver rooted at `root` whose environment holds exactly `vars`.
    fn with_env<'a>(root: &Path, vars: &'a dyn Fn(&str) -> Option<OsString>) -> Resolver<'a> {
        Resolver {
            root: root.to_path_buf(),
            var: vars,
        }
    }

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("meshward-testkit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const ROOT: &str = "/ws";

    #[test]
    fn defaults_are_relative_to_the_workspace_when_nothing_is_set() {
        let unset = |_: &str| None;
        let r = with_env(Path::new(ROOT), &unset);
        assert_eq!(r.crs_dir(), Path::new("/ws/../shared/crs/v4.28.0"));
        assert_eq!(r.wasm_dir(), Path::new("/ws/target/filters/wasm32-wasip1"));
        let err = r.envoy_binary().unwrap_err();
        assert!(
            matches!(&err, LocateError::EnvoyMissing { path, .. } if path == Path::new("/ws/.venv/bin/envoy")),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .ends_with("run `cargo xtask setup` to install it into .venv, or set MESHWARD_ENVOY"),
            "{err}"
        );
    }

    #[test]
    fn a_set_variable_overrides_the_default() {
        let set = |name: &str| Some(OsString::from(format!("/custom/{name}")));
        let r = with_env(Path::new(ROOT), &set);
        assert_eq!(r.crs_dir(), Path::new("/custom/MESHWARD_CRS_DIR"));
        assert_eq!(r.wasm_dir(), Path::new("/custom/MESHWARD_WASM_DIR"));
        let err = r.envoy_binary().unwrap_err();
        assert!(
            matches!(&err, LocateError::EnvoyMissing { path, .. } if path == Path::new("/custom/MESHWARD_ENVOY")),
            "{err}"
        );
    }

    #[test]
    fn an_empty_variable_counts_as_unset_for_every_location() {
        let empty = |_: &str| Some(OsString::new());
        let unset = |_: &str| None;
        let (e, u) = (with_env(Path::new(ROOT), &empty), with_env(Path::new(ROOT), &unset));
        assert_eq!(e.env_path(CRS_DIR_ENV), None);
        assert_eq!(e.crs_dir(), u.crs_dir());
        assert_eq!(e.wasm_dir(), u.wasm_dir());
        assert_eq!(
            e.envoy_binary().unwrap_err().to_string(),
            u.envoy_binary().unwrap_err().to_string()
        );
        assert_eq!(
            e.wasm_file("meshward-waf").unwrap_err().to_string(),
            u.wasm_file("meshward-waf").unwrap_err().to_string()
        );
        assert_eq!(
            e.foreign_wasm_file("as_header_gate").unwrap_err().to_string(),
            u.foreign_wasm_file("as_header_gate").unwrap_err().to_string()
        );
    }

    #[test]
    fn wasm_files_are_found_by_crate_or_artifact_name() {
        let dir = scratch("wasm");
        std::fs::write(dir.join("meshward_fixture_probe.wasm"), b"\0asm").unwrap();
        let var = |name: &str| (name == WASM_DIR_ENV).then(|| dir.clone().into_os_string());
        let r = with_env(Path::new(ROOT), &var);
        let expected = dir.join("meshward_fixture_probe.wasm");
        for name in [
            "meshward-fixture-probe",
            "meshward_fixture_probe",
            "meshward_fixture_probe.wasm",
        ] {
            assert_eq!(r.wasm_file(name).unwrap(), expected, "{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_wasm_file_names_the_path_and_the_command_that_builds_it() {
        let unset = |_: &str| None;
        let err = with_env(Path::new(ROOT), &unset).wasm_file("meshward-waf").unwrap_err();
        assert!(
            matches!(&err, LocateError::WasmMissing { path, .. } if path == Path::new("/ws/target/filters/wasm32-wasip1/meshward_waf.wasm")),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "wasm file /ws/target/filters/wasm32-wasip1/meshward_waf.wasm is missing; build the filters with \
             `cargo xtask wasm` (or set MESHWARD_WASM_DIR)"
        );
    }

    #[test]
    fn foreign_filters_have_their_own_directory_and_variable() {
        let unset = |_: &str| None;
        let err = with_env(Path::new(ROOT), &unset)
            .foreign_wasm_file("as_header_gate")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "wasm file /ws/target/filters/foreign/as_header_gate.wasm is missing; build the filters with \
             `cargo xtask wasm` (or set MESHWARD_FOREIGN_WASM_DIR)"
        );
        let dir = scratch("foreign");
        std::fs::write(dir.join("as_header_gate.wasm"), b"\0asm").unwrap();
        let var = |name: &str| (name == FOREIGN_WASM_DIR_ENV).then(|| dir.clone().into_os_string());
        let r = with_env(Path::new(ROOT), &var);
        assert_eq!(
            r.foreign_wasm_file("as_header_gate").unwrap(),
            dir.join("as_header_gate.wasm")
        );
        assert!(
            r.wasm_file("as_header_gate").is_err(),
            "the other directory is not searched"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn envoy_must_be_a_file() {
        let dir = scratch("envoy");
        let binary = dir.join("envoy");
        std::fs::write(&binary, b"#!/bin/sh\n").unwrap();
        let at = |path: PathBuf| move |name: &str| (name == ENVOY_ENV).then(|| path.clone().into_os_string());
        let file = at(binary.clone());
        assert_eq!(with_env(Path::new(ROOT), &file).envoy_binary().unwrap(), binary);
        let directory = at(dir.clone());
        let err = with_env(Path::new(ROOT), &directory).envoy_binary().unwrap_err();
        assert!(
            matches!(&err, LocateError::EnvoyMissing { path, why } if *path == dir && why == "not a file"),
            "{err:?}"
        );
        // Without the variable, the workspace's .venv is used.
        let venv = dir.join(".venv/bin");
        std::fs::create_dir_all(&venv).unwrap();
        std::fs::write(venv.join("envoy"), b"").unwrap();
        let unset = |_: &str| None;
        assert_eq!(with_env(&dir, &unset).envoy_binary().unwrap(), venv.join("envoy"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_registry_is_debians_unless_named_and_its_absence_says_to_run_setup() {
        let unset = |_: &str| None;
        let r = with_env(Path::new(ROOT), &unset);
        match r.registry_binary() {
            Ok(path) => assert_eq!(path, Path::new(DEFAULT_REGISTRY)),
            Err(err) => assert!(err.to_string().contains("run `cargo xtask setup`"), "{err}"),
        }
        let missing = |name: &str| (name == REGISTRY_ENV).then(|| OsString::from("/nonexistent/registry"));
        let err = with_env(Path::new(ROOT), &missing).registry_binary().unwrap_err();
        assert!(
            matches!(&err, LocateError::RegistryMissing { path, .. } if path == Path::new("/nonexistent/registry")),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("run `cargo xtask setup` to install Debian's docker-registry"),
            "{err}"
        );
    }

    #[test]
    fn the_workspace_root_is_the_workspace_and_the_process_environment_is_read() {
        let root = workspace_root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("[workspace]") && manifest.contains("\"testkit\""),
            "{manifest}"
        );
        // The public functions use the process environment; `PATH` is set in any test run.
        assert!(env_path("PATH").is_some());
        assert_eq!(env_path("MESHWARD_TESTKIT_NEVER_SET"), None);
    }
}
