//! The command line: every command, argument and option, with its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::oci::variant::Variant;

/// Check meshward filter configurations, convert Istio policies, and build and push the
/// filters as OCI images that Istio's `WasmPlugin` (`url: oci://...`) can pull.
///
/// Exit status: 0 when the command succeeded, 1 when it found a problem (an invalid
/// configuration, a failed push), 2 for a usage error.
#[derive(Debug, Parser)]
#[command(name = "meshward", version)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a filter configuration exactly as the filter does when Envoy configures it.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Convert Istio AuthorizationPolicy YAML (multi-document) to a policy document of the L7
    /// network-policy filter on stdout; what cannot be honoured is a warning on stderr.
    ImportIstio(ImportArgs),
    /// Build a filter into an OCI image layout, inspect it, push it to a registry, pull it back.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Print the configuration that loads a filter: an Istio WasmPlugin, or an Envoy HTTP filter.
    #[command(subcommand)]
    Snippet(SnippetCommand),
    /// Measure the WAF's detection: run the attack and benign corpus (corpus/README.md) through
    /// the engine natively in enforce mode and print, per split and attack family, the attacks
    /// stopped (true-positive rate) and the benign requests passed (true-negative rate).
    Detection(DetectionArgs),
    /// Learn from what the policy filter recorded (its observation and decision events).
    #[command(subcommand)]
    Learn(LearnCommand),
}

/// `meshward learn ...`
#[derive(Debug, Subcommand)]
pub enum LearnCommand {
    /// Write a least-privilege policy from recorded traffic: per destination service, ALLOW
    /// rules for the callers, methods and path templates seen (meshward document, Istio
    /// AuthorizationPolicies) and a report of what it allows and would deny (docs/learn.md).
    Policy(LearnPolicyArgs),
    /// Write the API inventory of each service as an OpenAPI 3.0.3 document (paths, methods,
    /// observed status classes and media types, with evidence) and, with `--spec`, the drift
    /// between a declared spec and the traffic (docs/learn.md).
    Api(LearnApiArgs),
}

/// `meshward learn api [FILES...|-] ...`
#[derive(Debug, Args)]
pub struct LearnApiArgs {
    /// Log files holding `meshward.policy.observation` / `meshward.policy.event` lines (bare
    /// JSON or after any log prefix); `-` or none: standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write `<host>.openapi.yaml` per service (`.json` with `--json`) and, with `--spec`,
    /// `drift.md` (`drift.json`) there. Without it, standard output gets the drift report when
    /// a `--spec` is given, else the documents.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// A service's declared OpenAPI 3.x document (YAML or JSON) to compare the traffic with:
    /// `orders.svc=orders-openapi.yaml` (a host without port also matches it with one).
    /// Repeat for more services.
    #[arg(long = "spec", value_name = "SERVICE=FILE")]
    pub specs: Vec<String>,
    /// Documents and drift report as JSON instead of YAML and Markdown.
    #[arg(long)]
    pub json: bool,
    /// How paths fold into templates.
    #[command(flatten)]
    pub folding: FoldingArgs,
}

/// The mode written into a learned policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LearnMode {
    /// Record what it would block, block nothing (listen first).
    Detect,
    /// Block what it does not allow.
    Enforce,
}

/// `meshward learn policy [FILES...|-] ...`
#[derive(Debug, Args)]
pub struct LearnPolicyArgs {
    /// Log files holding `meshward.policy.observation` / `meshward.policy.event` lines (bare
    /// JSON or after any log prefix); `-` or none: standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write `policy.yaml`, `istio.yaml` and `report.md` (`report.json` with `--json`) there.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["policy", "istio", "report"])]
    pub out_dir: Option<PathBuf>,
    /// Write the meshward policy document there (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Write the Istio AuthorizationPolicies there.
    #[arg(long, value_name = "FILE")]
    pub istio: Option<PathBuf>,
    /// Write the report there.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The report as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// The mode written into the policy (Istio: `istio.io/dry-run` in detect mode).
    #[arg(long, value_enum, default_value = "detect")]
    pub mode: LearnMode,
    /// How paths fold into templates.
    #[command(flatten)]
    pub folding: FoldingArgs,
}

/// How `learn policy` and `learn api` fold observed paths into templates.
#[derive(Debug, Args)]
pub struct FoldingArgs {
    /// A path template to use as-is for the paths it matches (`/api/users/{*}/avatar`; `{*}`
    /// one segment, `{**}` the rest, last only). Repeat for more.
    #[arg(long = "template", value_name = "T")]
    pub templates: Vec<String>,
    /// A path never folded into a sibling template (`/api/users/me`). Repeat for more.
    #[arg(long = "literal", value_name = "PATH")]
    pub literals: Vec<String>,
    /// Distinct word values at one position (same methods and response shape) before they
    /// become `{*}`, and distinct files under a prefix before they become `{**}`.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub fold_threshold: usize,
}

/// A baseline to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    /// OWASP CRS alone at paranoia level 1 as shipped: `profile: crs`, no rule packs.
    CrsPl1,
}

/// How `meshward detection` hands requests to the WAF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Through {
    /// The engine natively, through the filter's own exchange (as Envoy calls it).
    Engine,
    /// Real Envoy (`MESHWARD_ENVOY`) with the built `meshward_waf.wasm`.
    Envoy,
}

/// `meshward detection`
#[derive(Debug, Args)]
pub struct DetectionArgs {
    /// Where the requests go.
    #[arg(long, value_enum, default_value = "engine")]
    pub through: Through,
    /// With `--through envoy`: the WAF module (default: `cargo xtask wasm`'s output,
    /// `MESHWARD_WASM_DIR`).
    #[arg(long, value_name = "FILE")]
    pub wasm: Option<PathBuf>,
    /// The corpus directory (default: the repository's `corpus/`).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// The WAF profile measured.
    #[arg(long, default_value = "mesh", value_parser = ["mesh", "crs"])]
    pub profile: String,
    /// The paranoia level (blocking and detection).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub paranoia: u8,
    /// Rule packs, comma-separated (`nosql,ldap`), or `none`; default: the profile's.
    #[arg(long, value_name = "A,B|none")]
    pub packs: Option<String>,
    /// Also measure this baseline and print it beside.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// List on stderr every attack passed and benign request stopped.
    #[arg(long)]
    pub misses: bool,
}

/// `meshward snippet ...`
#[derive(Debug, Subcommand)]
pub enum SnippetCommand {
    /// An Istio `WasmPlugin` (WAF in phase AUTHN, policy in AUTHZ) pulling the filter's image.
    Istio(IstioSnippetArgs),
    /// An entry of an Envoy listener's `http_filters` (`envoy.filters.http.wasm`), placed before
    /// the router.
    Envoy(EnvoySnippetArgs),
}

/// Which filter a snippet loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FilterKind {
    /// `meshward_waf.wasm`.
    Waf,
    /// `meshward_netpolicy.wasm` (the L7 network-policy filter).
    Policy,
}

/// What every snippet names: the filter and its configuration.
#[derive(Debug, Args)]
pub struct SnippetFilterArgs {
    /// The filter to load.
    #[arg(long, value_enum)]
    pub filter: FilterKind,
    /// Its plugin configuration (WAF: JSON; policy: YAML or JSON), checked as the filter loads
    /// it; none: zero configuration (detect mode).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `meshward snippet istio`
#[derive(Debug, Args)]
pub struct IstioSnippetArgs {
    /// The filter and its configuration.
    #[command(flatten)]
    pub filter: SnippetFilterArgs,
    /// The image: `oci://registry/repository:tag` (as pushed by `meshward image push`), or an
    /// `https://` or `file://` URL of the module.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// The image's manifest digest (or the module's sha256 for https/file URLs), hex.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// `metadata.name` (default: `meshward-waf` or `meshward-netpolicy`).
    #[arg(long)]
    pub name: Option<String>,
    /// `metadata.namespace` (none: the namespace it is applied in; the root namespace applies
    /// it mesh-wide).
    #[arg(long)]
    pub namespace: Option<String>,
    /// `selector.matchLabels` entries, `key=value` (repeat for more); none: every workload of
    /// the namespace.
    #[arg(long = "selector", value_name = "KEY=VALUE")]
    pub selector: Vec<String>,
}

/// `meshward snippet envoy`
#[derive(Debug, Args)]
pub struct EnvoySnippetArgs {
    /// The filter and its configuration.
    #[command(flatten)]
    pub filter: SnippetFilterArgs,
    /// The module on Envoy's file system (code source `local`).
    #[arg(long, value_name = "PATH", conflicts_with = "url", required_unless_present = "url")]
    pub wasm: Option<PathBuf>,
    /// The module's URL (code source `remote`: Envoy fetches it through `--cluster`); needs
    /// `--sha256`.
    #[arg(long, value_name = "URL", requires = "sha256")]
    pub url: Option<String>,
    /// The module's sha256, hex (required with `--url`: Envoy refuses a module that differs).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// The Envoy cluster that serves `--url`.
    #[arg(long, value_name = "NAME", default_value = "meshward_wasm_source")]
    pub cluster: String,
}

/// `meshward check ...`
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Validate a WAF plugin configuration (JSON) for `meshward_waf.wasm`: prints what would
    /// load (rules, rule sets, mode, config hash), or the error with its line and reason.
    Waf(FileArgs),
    /// Validate a policy document (YAML or JSON) for `meshward_netpolicy.wasm`; deprecated words
    /// are warnings on stderr.
    Policy(FileArgs),
}

/// `meshward image ...`
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build an OCI image layout holding one filter, reproducibly (no docker needed).
    Build(BuildArgs),
    /// Push an OCI image layout to a registry (OCI distribution API) and print its digest.
    Push(PushArgs),
    /// Print the images of an OCI image layout: digests, sizes, media types, annotations.
    Inspect(InspectArgs),
    /// Fetch an image from a registry the way Istio's image fetcher does and write its module.
    Pull(PullArgs),
}

/// `meshward import-istio FILE [--wasm-plugin-url URL]`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The AuthorizationPolicy YAML to read.
    pub file: PathBuf,
    /// Print instead the WasmPlugins (multi-document YAML) that carry the imported policies to
    /// exactly the workloads each applied to (`selector`/`targetRefs`), running this image.
    #[arg(long, value_name = "URL")]
    pub wasm_plugin_url: Option<String>,
}

/// One input file.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The file to read.
    pub file: PathBuf,
}

/// `meshward image build`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// `waf` (meshward_waf.wasm), `policy` (meshward_netpolicy.wasm) from the filters built by
    /// `cargo xtask wasm` (MESHWARD_WASM_DIR), or the path of any proxy-wasm `.wasm` file.
    #[arg(long, value_name = "waf|policy|PATH.wasm")]
    pub filter: String,
    /// `compat`: a standard OCI image whose one tar+gzip layer holds plugin.wasm; `oci`: the
    /// Wasm Artifact Image (application/vnd.module.wasm.* media types). Istio reads both.
    #[arg(long, value_enum, default_value_t = Variant::Compat)]
    pub variant: Variant,
    /// The directory to write the OCI image layout to (created; replaced if it holds one).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The tag recorded in the layout (`org.opencontainers.image.ref.name`); `image push` uses
    /// it when the reference names no tag.
    #[arg(long, value_name = "T")]
    pub tag: Option<String>,
    /// `org.opencontainers.image.version` (default: this program's version).
    #[arg(long = "image-version", value_name = "V")]
    pub image_version: Option<String>,
    /// `org.opencontainers.image.source`: where the filter's source code is (a URL).
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`: the source revision (a commit).
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// Seconds since 1970 for `created` (annotation and image config); unset, the image records
    /// no time at all, so the same input always gives the same digest.
    #[arg(long = "source-date-epoch", env = "SOURCE_DATE_EPOCH", value_name = "SECONDS")]
    pub source_date_epoch: Option<i64>,
}

/// `meshward image push`
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The OCI image layout to push (written by `meshward image build`).
    pub dir: PathBuf,
    /// Where to push: `registry[:port]/repository[:tag]`. Without a tag, the layout's tag, else
    /// `latest`. A reference with `@sha256:...` must name the layout's manifest digest.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// How to reach and log in to the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Upload blobs in chunks of this many bytes (PATCH requests) instead of one PUT.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
}

/// `meshward image pull`
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image: `registry[:port]/repository[:tag]` or `...@sha256:<manifest digest>` (as in a
    /// WasmPlugin's `url: oci://...`).
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Where to write the module (`plugin.wasm`).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// How to reach and log in to the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The options of every command that talks to a registry.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// User name for basic authentication (also sent to a bearer token service).
    #[arg(long, env = "MESHWARD_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Password for basic authentication.
    #[arg(long, env = "MESHWARD_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input (instead of `--password`).
    #[arg(long)]
    pub password_stdin: bool,
    /// A bearer token sent with every request; when given, the user name and password are not
    /// used.
    #[arg(long, env = "MESHWARD_REGISTRY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Allow plain HTTP to a registry that is not on this machine (127.0.0.1, ::1, localhost
    /// always use plain HTTP).
    #[arg(long)]
    pub insecure: bool,
}

/// `meshward image inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The OCI image layout to read.
    pub dir: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
