//! Shared by the policy e2e tests: requests as cases, what became of them in a mesh, the bypass
//! corpus, and the RBAC comparison table.
#![allow(dead_code)]

use meshward_envoy::mesh::{Caller, Mesh, SERVER_HOST};
use meshward_envoy::Request;
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One request sent by a caller through the client sidecar.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    /// What the case tries (e.g. the CVE it derives from).
    pub about: String,
    pub caller: Caller,
    pub method: String,
    /// The request target exactly as sent.
    pub path: String,
    /// Extra header lines, in order (a name may repeat); `host` defaults to the server's.
    pub headers: Vec<(String, String)>,
    /// What meshward must decide (corpus cases only).
    pub expect: Option<Expect>,
}

/// The decision the bypass corpus expects from meshward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Blocked by a policy: 403.
    Block,
    /// Refused by path or host normalization: 400.
    Refused,
    /// A control case that must pass.
    Allow,
}

impl Case {
    /// A case without description.
    pub fn new(id: &str, caller: Caller, method: &str, path: &str, headers: &[(&str, &str)]) -> Case {
        Case {
            id: id.into(),
            about: String::new(),
            caller,
            method: method.into(),
            path: path.into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            expect: None,
        }
    }

    fn request(&self) -> Request {
        let mut request = Request::new(&self.method, &self.path, Vec::new());
        if !self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request = request.header("host", SERVER_HOST);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }

    /// The request line and extra headers, for tables.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.method, self.path);
        for (name, value) in &self.headers {
            text.push_str(&format!(" + {name}: {value}"));
        }
        text
    }
}

/// What became of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The response status, or `None` when the connection failed.
    pub status: Option<u16>,
    /// The request target the app received, when the request reached it.
    pub app_saw: Option<String>,
    /// Whether the server sidecar received the request at all (Envoy's own HTTP handling on the
    /// client sidecar may refuse it first, e.g. a fragment in the path).
    pub reached_server: bool,
    pub error: Option<String>,
}

impl Outcome {
    /// Whether the request reached the app (the filter let it through).
    pub fn passed(&self) -> bool {
        self.app_saw.is_some()
    }

    /// Whether the app received anything for this case.
    pub fn reached_app(&self) -> bool {
        self.app_saw.is_some()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.status, &self.app_saw) {
            (Some(status), Some(path)) => write!(f, "{status}, app got `{path}`"),
            (Some(status), None) if !self.reached_server => write!(f, "{status} by the client sidecar"),
            (Some(status), None) => write!(f, "{status}"),
            (None, _) => write!(f, "connection failed"),
        }
    }
}

/// Sends `case` from its caller through `mesh` and records the status and what the app got.
pub fn send(mesh: &Mesh, case: &Case) -> Outcome {
    let server_requests = || {
        let stat = mesh
            .server
            .stat("http.inbound.downstream_rq_total")
            .unwrap_or_else(|e| panic!("server stats: {e}"));
        stat.expect("the inbound listener counts its requests")
    };
    let server_before = server_requests();
    let before = mesh.app.requests().len();
    let response = mesh.send(case.caller, &case.request());
    // The app records a request before answering it, so it is recorded by the time the client
    // has a response; a short grace covers a reset connection.
    if response.is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = mesh.app.requests();
    let app_saw = after
        .get(before..)
        .and_then(|new| new.first())
        .map(|r| r.target.clone());
    let reached_server = server_requests() > server_before;
    match response {
        Ok(r) => Outcome {
            status: Some(r.status),
            app_saw,
            reached_server,
            error: None,
        },
        Err(e) => Outcome {
            status: None,
            app_saw,
            reached_server,
            error: Some(e.to_string()),
        },
    }
}

/// The bypass corpus: the policy document its cases target and the cases.
pub struct Corpus {
    /// The document as YAML text (what the netpolicy filter is configured with).
    pub policy_yaml: String,
    /// The same document as JSON (what the RBAC translator reads).
    pub document: Value,
    pub cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    policy: String,
    cases: Vec<CorpusCase>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusCase {
    id: String,
    cve: String,
    path: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    expect: Expect,
}

/// Where the corpus lives (owned by the policy engine's tests).
pub fn corpus_path() -> PathBuf {
    meshward_envoy::locate::workspace_root().join("filters/policy/tests/data/bypass.yaml")
}

/// Loads the bypass corpus; every case is sent by the frontend.
pub fn load() -> Corpus {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let file: CorpusFile = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document: Value =
        serde_yaml_ng::from_str(&file.policy).unwrap_or_else(|e| panic!("{} policy: {e}", path.display()));
    let cases = file
        .cases
        .into_iter()
        .map(|c| {
            let mut headers = Vec::new();
            if let Some(host) = c.host {
                headers.push(("host".to_string(), host));
            }
            headers.extend(c.headers);
            Case {
                id: c.id,
                about: c.cve,
                caller: Caller::Frontend,
                method: c.method.unwrap_or_else(|| "GET".into()),
                path: c.path,
                headers,
                expect: Some(c.expect),
            }
        })
        .collect();
    Corpus {
        policy_yaml: file.policy,
        document,
        cases,
    }
}

/// The path-ambiguity corpus (filters/policy/tests/data/ambiguity.yaml): its policy, the attack
/// paths (each read as a protected path by some backend) and the ordinary paths.
pub struct Ambiguity {
    pub policy_yaml: String,
    pub attacks: Vec<String>,
    pub ordinary: Vec<String>,
}

#[derive(serde::Deserialize)]
struct AmbiguityFile {
    policy: String,
    attacks: Vec<AmbiguityAttack>,
    ordinary: Vec<String>,
}

#[derive(serde::Deserialize)]
struct AmbiguityAttack {
    path: String,
}

/// Loads the path-ambiguity corpus.
pub fn load_ambiguity() -> Ambiguity {
    let path = meshward_envoy::locate::workspace_root().join("filters/policy/tests/data/ambiguity.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let file: AmbiguityFile = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Ambiguity {
        policy_yaml: file.policy,
        attacks: file.attacks.into_iter().map(|a| a.path).collect(),
        ordinary: file.ordinary,
    }
}

fn cell(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|").replace('`', "'"))
}

/// The comparison table: per RBAC configuration, each corpus case RBAC lets through while
/// meshward stops it, and each case RBAC blocks while meshward lets it through; then every case.
pub fn comparison_markdown(cases: &[Case], meshward: &[Outcome], safest: &[Outcome], defaults: &[Outcome]) -> String {
    let mut out = String::new();
    out.push_str("# meshward vs Envoy RBAC on the bypass corpus\n\n");
    out.push_str(
        "Generated by `envoy/tests/policy_rbac.rs` from `filters/policy/tests/data/bypass.yaml` (regenerate\n",
    );
    out.push_str("with `MESHWARD_REGENERATE=1 cargo test -p meshward-envoy --test policy_rbac`; the test fails when\n");
    out.push_str("this file differs from what it observes). Each case is sent verbatim through a client sidecar and\n");
    out.push_str("mTLS to a server sidecar (both real Envoy, default path handling on the client) whose inbound\n");
    out.push_str("listener runs either the meshward netpolicy filter or Envoy's RBAC filter with the corpus policy\n");
    out.push_str("translated as Istio would (`envoy/src/rbac.rs`). RBAC runs behind Envoy's safest path settings\n");
    out.push_str(
        "(`normalize_path: true`, `merge_slashes: true`, `path_with_escaped_slashes_action: REJECT_REQUEST`)\n",
    );
    out.push_str("and behind Envoy's defaults. A case *passes* when the app behind the server sidecar received it;\n");
    out.push_str(
        "\"app got\" is the request target the app received. With `normalize_path` Envoy forwards the path it\n",
    );
    out.push_str("normalized, so RBAC decides on what the app receives, in Envoy's order (dot segments, then merged\n");
    out.push_str("slashes); meshward forwards the original path and blocks anything whose canonical form (merged\n");
    out.push_str(
        "slashes, then dot segments, see rules/policy/README.md) a policy denies. \"by the client sidecar\"\n",
    );
    out.push_str("marks a request Envoy itself rejected before any filter ran. meshward's decisions are `block`\n");
    out.push_str("(403) and `refused` (400: the path or host cannot be normalized).\n\n");
    let stopped = meshward.iter().filter(|o| !o.passed()).count();
    out.push_str(&format!(
        "{} cases: meshward stops {stopped} and lets {} controls through.\n\n",
        cases.len(),
        cases.len() - stopped
    ));
    for (label, rbac) in [("the safest settings", safest), ("Envoy's defaults", defaults)] {
        let bypass: Vec<usize> = (0..cases.len())
            .filter(|&i| !meshward[i].passed() && rbac[i].passed())
            .collect();
        let blocked: Vec<usize> = (0..cases.len())
            .filter(|&i| meshward[i].passed() && !rbac[i].passed())
            .collect();
        out.push_str(&format!(
            "## RBAC with {label}: {} let through that meshward stops\n\n",
            bypass.len()
        ));
        table(&mut out, cases, &bypass, meshward, rbac);
        out.push_str(&format!(
            "## RBAC with {label}: {} blocked that meshward lets through\n\n",
            blocked.len()
        ));
        table(&mut out, cases, &blocked, meshward, rbac);
    }
    out.push_str("## Every case\n\n| case | about | request | meshward | RBAC safest | RBAC defaults |\n|---|---|---|---|---|---|\n");
    for (i, case) in cases.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            case.id,
            case.about,
            cell(&case.describe()),
            meshward[i],
            safest[i],
            defaults[i]
        ));
    }
    out
}

fn table(out: &mut String, cases: &[Case], rows: &[usize], meshward: &[Outcome], rbac: &[Outcome]) {
    if rows.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    out.push_str("| case | about | request | meshward | RBAC |\n|---|---|---|---|---|\n");
    for &i in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            cases[i].id,
            cases[i].about,
            cell(&cases[i].describe()),
            meshward[i],
            rbac[i]
        ));
    }
    out.push('\n');
}
