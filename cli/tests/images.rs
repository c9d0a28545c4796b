//! Filter images against a real registry (Debian's `docker-registry`, started per test): both
//! filters in both variants are built reproducibly by `meshward image build`, pushed with
//! `meshward image push`, pulled back by digest the way Istio's image fetcher reads each
//! variant, byte-compared with the built `.wasm`, and run in real Envoy. Authentication: htpasswd
//! basic auth on the real registry, and the bearer-token flow through a gate in front of it.
//!
//! A missing registry, filter or Envoy fails these tests with the command to run.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::cli::{meshward, meshward_code};
use common::gate::{self, Gate};
use common::registry::{Options, Registry};
use meshward_cli::oci::layout::Layout;
use meshward_cli::oci::variant::Variant;
use meshward_cli::registry::auth::Credentials;
use meshward_cli::registry::client::Client;
use meshward_cli::registry::endpoint::Target;
use meshward_cli::registry::pull::{pull, Pulled};
use meshward_envoy::{Envoy, EnvoyConfig, Request, Upstream, WasmFilter};
use meshward_testkit::locate;

/// A filter: its artifact, repository, and how Envoy runs it blocking one request.
struct Filter {
    file: &'static str,
    repository: &'static str,
    /// Filter, root and VM name in Envoy.
    name: &'static str,
    /// An enforcing configuration.
    config: &'static str,
    /// A request it blocks with 403 under `config`.
    attack: &'static str,
    /// A request it lets through.
    clean: &'static str,
}

const WAF: Filter = Filter {
    file: "meshward_waf.wasm",
    repository: "meshward/waf",
    name: "meshward_waf",
    config: r#"{"mode":"enforce"}"#,
    attack: "/search?q=1%27%20UNION%20SELECT%20username%2Cpassword%20FROM%20users--",
    clean: "/search?q=shoes",
};

const NETPOLICY: Filter = Filter {
    file: "meshward_netpolicy.wasm",
    repository: "meshward/netpolicy",
    name: "meshward_netpolicy",
    config: r#"{"mode":"enforce","policies":[{"name":"deny-admin","action":"DENY","rules":[{"to":[{"paths":["/admin/{**}"]}]}]}]}"#,
    attack: "/admin/users",
    clean: "/public/index.html",
};

const VARIANTS: [Variant; 2] = [Variant::Compat, Variant::Oci];

/// A scratch directory for one test, empty.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshward-images-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

/// The built filter's path and bytes; a missing one fails with the command to build it.
fn source(filter: &Filter) -> (PathBuf, Vec<u8>) {
    let path = locate::wasm_file(filter.file).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&path).expect("reading the filter");
    (path, bytes)
}

/// `meshward image build` into `out`; the layout's manifest digest.
fn build(wasm: &Path, variant: Variant, out: &Path) -> String {
    let (ok, stdout, stderr) = meshward(&[
        "image",
        "build",
        "--filter",
        &wasm.to_string_lossy(),
        "--variant",
        variant.name(),
        "--tag",
        variant.name(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert!(ok, "image build {variant}: {stderr}\n{stdout}");
    let layout = Layout::open(out).expect("the built layout opens");
    layout.single().expect("one image").descriptor.digest().to_string()
}

/// `meshward image push DIR REF ARGS...`: (exit code, stdout, stderr).
fn push(dir: &Path, reference: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["image", "push"];
    let dir = dir.to_string_lossy();
    all.push(&dir);
    all.push(reference);
    all.extend_from_slice(args);
    meshward_code(&all)
}

/// Pulls `host/repository@digest` as Istio's fetcher does.
fn pull_as_istio(host: &str, repository: &str, digest: &str, credentials: Credentials) -> Result<Pulled, String> {
    let target = Target::parse(&format!("{host}/{repository}@{digest}"), false).map_err(|e| e.to_string())?;
    let mut client = Client::new(target, credentials);
    pull(&mut client, digest).map_err(|e| e.to_string())
}

#[test]
fn both_filters_in_both_variants_are_reproducible_and_come_back_byte_identical() {
    let registry = Registry::start();
    let dir = scratch("roundtrip");
    let mut rows = Vec::new();
    for filter in [&WAF, &NETPOLICY] {
        let (wasm_path, wasm) = source(filter);
        for variant in VARIANTS {
            let a = dir.join(format!("{}-{variant}-a", filter.name));
            let b = dir.join(format!("{}-{variant}-b", filter.name));
            let digest = build(&wasm_path, variant, &a);
            assert_eq!(
                build(&wasm_path, variant, &b),
                digest,
                "{} {variant}: same input, same digest",
                filter.file
            );
            assert_eq!(
                std::fs::read(a.join("index.json")).unwrap(),
                std::fs::read(b.join("index.json")).unwrap()
            );

            let reference = format!("{}/{}:{variant}", registry.host(), filter.repository);
            let (code, stdout, stderr) = push(&a, &reference, &[]);
            assert_eq!(code, Some(0), "push {reference}: {stderr}\n{}", registry.log());
            assert!(stdout.contains(&format!("digest {digest}")), "{stdout}");
            assert!(
                stdout.contains(&format!(
                    "url: oci://{}/{}@{digest}",
                    registry.host(),
                    filter.repository
                )),
                "{stdout}"
            );

            let pulled = pull_as_istio(&registry.host(), filter.repository, &digest, Credentials::Anonymous)
                .unwrap_or_else(|e| panic!("pull {} {variant}: {e}", filter.file));
            assert_eq!(pulled.manifest_digest, digest);
            assert_eq!(
                pulled.extracted.variant, variant,
                "{}: read as the variant it was built as",
                filter.file
            );
            assert!(
                pulled.extracted.wasm == wasm,
                "{} {variant}: the pulled module differs",
                filter.file
            );

            // A second push finds every blob there already; the tag names the same manifest.
            let (code, stdout, stderr) = push(&a, &reference, &[]);
            assert_eq!(code, Some(0), "{stderr}");
            assert!(!stdout.contains(": uploaded"), "{stdout}");
            assert!(stdout.contains("exists, skipped"), "{stdout}");

            rows.push(format!(
                "{} {variant}: digest {digest}, wasm {} bytes, layer {} bytes ({})",
                filter.file,
                wasm.len(),
                pulled.extracted.layer.size(),
                pulled.extracted.layer.media_type()
            ));
        }
    }
    for row in rows {
        println!("{row}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn image_pull_by_tag_and_by_digest_writes_plugin_wasm() {
    let registry = Registry::start();
    let dir = scratch("pull-cli");
    let (wasm_path, wasm) = source(&NETPOLICY);
    let layout = dir.join("layout");
    let digest = build(&wasm_path, Variant::Compat, &layout);
    let repo = format!("{}/{}", registry.host(), NETPOLICY.repository);
    let (code, _, stderr) = push(&layout, &format!("{repo}:0.1.0"), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    for reference in [format!("{repo}:0.1.0"), format!("{repo}@{digest}")] {
        let out = dir.join("plugin.wasm");
        let (ok, stdout, stderr) = meshward(&["image", "pull", &reference, "--out", &out.to_string_lossy()]);
        assert!(ok, "{reference}: {stderr}");
        assert!(stdout.contains(&format!("digest {digest}")), "{stdout}");
        assert!(stdout.contains("compat variant"), "{stdout}");
        assert!(
            std::fs::read(&out).unwrap() == wasm,
            "{reference}: the written module differs"
        );
        std::fs::remove_file(&out).unwrap();
    }
    let wrong = format!("{repo}@sha256:{}", "0".repeat(64));
    let (code, _, stderr) = meshward_code(&["image", "pull", &wrong, "--out", "/dev/null"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Pushes `filter` as `variant`, pulls it back by digest, starts Envoy with the pulled module;
/// returns Envoy, its upstream and the time each step took.
fn push_pull_run(
    registry: &Registry,
    filter: &Filter,
    variant: Variant,
    dir: &Path,
) -> (Envoy, Upstream, [Duration; 3]) {
    let (wasm_path, wasm) = source(filter);
    let layout = dir.join(format!("{}-{variant}", filter.name));
    let digest = build(&wasm_path, variant, &layout);
    let start = Instant::now();
    let (code, _, stderr) = push(
        &layout,
        &format!("{}/{}:{variant}", registry.host(), filter.repository),
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let pushed = Instant::now();
    let pulled = pull_as_istio(&registry.host(), filter.repository, &digest, Credentials::Anonymous)
        .unwrap_or_else(|e| panic!("pull {} {variant}: {e}", filter.file));
    let plugin = dir.join(format!("{}-{variant}-plugin.wasm", filter.name));
    std::fs::write(&plugin, &pulled.extracted.wasm).unwrap();
    assert!(
        pulled.extracted.wasm == wasm,
        "{} {variant}: the pulled module differs",
        filter.file
    );
    let fetched = Instant::now();
    let upstream = Upstream::start().expect("starting the upstream");
    let wasm_filter = WasmFilter::new(&plugin, filter.config)
        .name(filter.name)
        .root_id(filter.name)
        .vm_id(filter.name);
    let mut config = EnvoyConfig::new(upstream.addr()).filter(wasm_filter);
    // Loading CRS into a V8 VM takes seconds, more on a busy machine.
    config.ready_timeout = Duration::from_secs(90);
    let envoy =
        Envoy::start(&config).unwrap_or_else(|e| panic!("Envoy with the pulled {} {variant}: {e}", filter.file));
    let ready = Instant::now();
    (envoy, upstream, [pushed - start, fetched - pushed, ready - fetched])
}

#[test]
fn pulled_filters_run_in_envoy_and_block() {
    let registry = Registry::start();
    let dir = scratch("envoy");
    let mut rows = Vec::new();
    for filter in [&WAF, &NETPOLICY] {
        for variant in VARIANTS {
            let (envoy, upstream, [push, pull, start]) = push_pull_run(&registry, filter, variant, &dir);
            let attack = envoy.send(&Request::get(filter.attack)).expect("sending the attack");
            assert_eq!(attack.status, 403, "{} {variant}: {}", filter.file, attack.text());
            let clean = envoy
                .send(&Request::get(filter.clean))
                .expect("sending the clean request");
            assert_eq!(clean.status, 200, "{} {variant}: {}", filter.file, clean.text());
            let seen: Vec<String> = upstream.requests().iter().map(|r| r.target.clone()).collect();
            assert_eq!(
                seen,
                [filter.clean],
                "{} {variant}: only the clean request reaches the app",
                filter.file
            );
            rows.push(format!(
                "{} {variant}: push {push:.2?} + pull {pull:.2?} + Envoy ready {start:.2?} = {:.2?}",
                filter.file,
                push + pull + start
            ));
        }
    }
    for row in rows {
        println!("{row}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn basic_auth_registry_needs_and_takes_the_password() {
    let options = Options {
        basic: Some(("alice".into(), "s3cret-pw".into())),
        relative_urls: false,
    };
    let registry = Registry::start_with(&options);
    let dir = scratch("basic");
    let (wasm_path, wasm) = source(&NETPOLICY);
    let layout = dir.join("layout");
    let digest = build(&wasm_path, Variant::Oci, &layout);
    let reference = format!("{}/{}:oci", registry.host(), NETPOLICY.repository);

    let (code, _, stderr) = push(&layout, &reference, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("needs Basic authentication: give --username"),
        "{stderr}"
    );
    let (code, _, stderr) = push(&layout, &reference, &["--username", "alice", "--password", "wrong"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password is never printed: {stderr}");
    let (code, stdout, stderr) = push(&layout, &reference, &["--username", "alice", "--password", "s3cret-pw"]);
    assert_eq!(code, Some(0), "{stderr}\n{}", registry.log());
    assert!(stdout.contains(&format!("digest {digest}")), "{stdout}");

    let err = pull_as_istio(&registry.host(), NETPOLICY.repository, &digest, Credentials::Anonymous).unwrap_err();
    assert!(err.contains("needs Basic authentication"), "{err}");
    let alice = Credentials::Basic {
        username: "alice".into(),
        password: "s3cret-pw".into(),
    };
    let pulled = pull_as_istio(&registry.host(), NETPOLICY.repository, &digest, alice).unwrap();
    assert_eq!(pulled.extracted.variant, Variant::Oci);
    assert!(pulled.extracted.wasm == wasm, "the pulled module differs");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bearer_token_flow_through_a_gate_in_front_of_the_registry() {
    let registry = Registry::start_with(&Options {
        basic: None,
        relative_urls: true,
    });
    let gate = Gate::start(&registry.base_url(), NETPOLICY.repository, "bob", "t0ken-pw");
    let dir = scratch("bearer");
    let (wasm_path, wasm) = source(&NETPOLICY);
    let layout = dir.join("layout");
    let digest = build(&wasm_path, Variant::Compat, &layout);
    let reference = format!("{}/{}:compat", gate.host(), NETPOLICY.repository);

    let (code, _, stderr) = push(&layout, &reference, &["--username", "bob", "--password", "nope"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the token service answered 401"), "{stderr}");

    // Chunked upload (PATCH) through the gate: every registry request carries the token.
    let (code, stdout, stderr) = push(
        &layout,
        &reference,
        &["--username", "bob", "--password", "t0ken-pw", "--chunk-size", "65536"],
    );
    assert_eq!(code, Some(0), "{stderr}\n{}", registry.log());
    assert!(stdout.contains(&format!("digest {digest}")), "{stdout}");
    let seen = gate.seen();
    let query = seen.token_queries.last().expect("a token request");
    assert!(query.contains(&format!("service={}", gate::SERVICE)), "{query}");
    assert!(
        query.contains("scope=repository%3Ameshward%2Fnetpolicy%3Apull%2Cpush"),
        "{query}"
    );
    assert!(seen.challenged >= 1 && seen.forwarded > 3, "{seen:?}");

    let bob = Credentials::Basic {
        username: "bob".into(),
        password: "t0ken-pw".into(),
    };
    let pulled = pull_as_istio(&gate.host(), NETPOLICY.repository, &digest, bob).unwrap();
    assert!(pulled.extracted.wasm == wasm, "the pulled module differs");

    // A token given up front is sent from the first request: no challenge, no token request.
    let before = gate.seen();
    let pulled = pull_as_istio(
        &gate.host(),
        NETPOLICY.repository,
        &digest,
        Credentials::Token(gate::TOKEN.into()),
    )
    .unwrap();
    assert!(pulled.extracted.wasm == wasm);
    let after = gate.seen();
    assert_eq!(
        (after.challenged, after.token_queries.len()),
        (before.challenged, before.token_queries.len())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
