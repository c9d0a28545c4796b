//! The HTTP policy the embedded CRS starts from: meshward's `mesh` profile (the default) or
//! CRS's own (`crs`). A profile is SecLang loaded once at configure time, between meshward's
//! settings and crs-setup: CRS setup variables (`tx.allowed_methods`,
//! `tx.allowed_request_content_type`), which CRS's initialization (rules 901xxx) keeps because
//! they are already set, and rules that choose a body processor from the `Content-Type`
//! (as ModSecurity's recommended rules 200000/200001 do for `application/xml`/`application/json`).
//!
//! The mesh profile also makes the bodies services actually receive ordinary and inspected:
//! gRPC/gRPC-Web/protobuf messages and NDJSON lines are parsed into ARGS, `text/plain` and
//! `application/octet-stream` are allowed (raw body only), a `GET` may carry a body and a body
//! may come without a Content-Type (parsed as a form), and uploaded text files and multipart
//! part headers are scanned for SQL injection, XSS and PHP code. See [`mesh_directives`].

use serde::{Deserialize, Serialize};

use crate::assembly::SETTINGS_RULE_ID;
use crate::decode;

/// Which defaults CRS's HTTP policy (methods, content types, body processors) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Service-mesh traffic: REST methods, gRPC, gRPC-Web, protobuf, NDJSON, plain text, octet
    /// streams, `+json`/`+xml` media types, `GET` with a body and bodies without a Content-Type
    /// are ordinary requests, and their bodies are parsed so the rules see what the service reads.
    #[default]
    Mesh,
    /// CRS's own defaults (crs-setup.conf.example as shipped): GET HEAD POST OPTIONS and the
    /// form, multipart, XML and JSON content types only.
    Crs,
}

/// CRS's default `tx.allowed_methods` (rule 901160, crs-setup 900200).
pub const CRS_METHODS: &str = "GET HEAD POST OPTIONS";

/// The mesh profile's methods: CRS's plus the REST verbs every service API uses. `CONNECT`,
/// `TRACE` and WebDAV verbs stay refused: no mesh API needs them (a WebSocket upgrade is a GET).
pub const MESH_METHODS: &str = "GET HEAD POST OPTIONS PUT PATCH DELETE";

/// CRS's default `tx.allowed_request_content_type` (rule 901162, crs-setup 900220).
pub const CRS_CONTENT_TYPES: &str = "|application/x-www-form-urlencoded| |multipart/form-data| |text/xml| \
     |application/xml| |application/soap+xml| |application/json|";

/// Content types the mesh profile adds to CRS's (each is what the named protocol sends):
/// gRPC over HTTP/2 (`application/grpc[+proto|+json]`), gRPC-Web from browsers and Envoy's
/// `grpc_web` filter (`application/grpc-web[+proto|+json]`, base64 `application/grpc-web-text`),
/// and protobuf over plain HTTP (`application/x-protobuf`, `application/protobuf`). Their bodies
/// are length-prefixed binary frames: no body processor parses them (CRS's rules that read
/// `REQUEST_BODY` still see the raw bytes); headers, path and query are inspected as for any
/// request.
pub const MESH_CONTENT_TYPES: &[&str] = &[
    "application/grpc",
    "application/grpc+proto",
    "application/grpc+json",
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web+json",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
    "application/x-protobuf",
    "application/protobuf",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "text/plain",
    "application/octet-stream",
];

/// Response media types the mesh profile inspects on top of `response_body.mime_types`: the
/// JSON service APIs answer with (CRS's leak rules 950-956 read any response body they are given:
/// SQL errors, stack traces and directory listings show up in JSON error bodies too). The engine
/// matches exact types, so the common `+json` types are listed.
pub const MESH_RESPONSE_MIME_TYPES: &[&str] = &[
    "application/json",
    "application/problem+json",
    "application/vnd.api+json",
    "application/hal+json",
    "application/ld+json",
];

/// CRS's default `tx.restricted_headers_basic` (rule 901240, crs-setup 900250) without
/// `/content-encoding/`: the mesh profile decodes the codings it supports instead of refusing
/// them (rule 920450), and refuses the others with its own rule.
pub const MESH_RESTRICTED_HEADERS: &str = "/proxy/ /lock-token/ /content-range/ /if/ /x-http-method-override/ \
     /x-http-method/ /x-method-override/ /x-middleware-subrequest/ /expect/";

/// The CRS rules (one per response rule file, 950-956) that skip the file's leak rules when the
/// response has a `Content-Encoding`: the mesh profile removes them when it decodes the body.
pub const COMPRESSED_RESPONSE_SKIPS: [u64; 7] = [950010, 951010, 952010, 953010, 954010, 955010, 956010];

/// Id of the mesh profile's rule refusing a request `Content-Encoding` it does not decode.
pub const UNDECODED_ENCODING_RULE: u64 = SETTINGS_RULE_ID + 41;

/// Tag of the mesh profile's own detection rules (uploaded text files, part headers).
pub const MESH_TAG: &str = "meshward/mesh-profile";

/// A media type with a structured-syntax suffix (RFC 6839), e.g. `application/vnd.api+json`:
/// lowercase type name, then `+json` or `+xml`, then parameters or the end.
fn suffix_pattern(suffix: &str) -> String {
    format!(r"^application/[a-z0-9!#$&^_.-]+\+{suffix}\s*(?:;|$)")
}

impl Profile {
    /// Whether meshward's rule packs load when the configuration does not list them: yes for
    /// `mesh`; no for `crs`, which stays CRS as shipped (the CRS regression suite runs it).
    pub fn packs_by_default(self) -> bool {
        self == Profile::Mesh
    }

    /// The SecLang this profile loads (empty for `crs`: CRS's initialization sets its defaults).
    pub fn directives(self) -> String {
        match self {
            Profile::Crs => String::new(),
            Profile::Mesh => mesh_directives() + &decoding_directives(),
        }
    }

    /// Response media types inspected besides `response_body.mime_types`.
    pub fn response_mime_types(self) -> &'static [&'static str] {
        match self {
            Profile::Crs => &[],
            Profile::Mesh => MESH_RESPONSE_MIME_TYPES,
        }
    }
}

/// The mesh profile's `Content-Encoding` rules ([`crate::decode`] decodes the body before the
/// engine reads it): requests with a coding meshward decodes are not restricted (rule 920450
/// without `content-encoding`), any other coding is refused with its own message (in phase 2,
/// where CRS's anomaly scores are initialized); a response the WAF decodes is not skipped by
/// CRS's leak rules.
fn decoding_directives() -> String {
    let headers = SETTINGS_RULE_ID + 40;
    let refuse = UNDECODED_ENCODING_RULE;
    let responses = SETTINGS_RULE_ID + 42;
    let pattern = decode::SUPPORTED_PATTERN;
    let skips: String = COMPRESSED_RESPONSE_SKIPS
        .iter()
        .map(|id| format!(",ctl:ruleRemoveById={id}"))
        .collect();
    format!(
        "SecAction \"id:{headers},phase:1,pass,nolog,t:none,\
         setvar:'tx.restricted_headers_basic={MESH_RESTRICTED_HEADERS}'\"\n\
         SecRule REQUEST_HEADERS:Content-Encoding \"!@rx {pattern}\" \
         \"id:{refuse},phase:2,block,capture,t:none,t:lowercase,\
         msg:'Content-Encoding not decoded by meshward (%{{MATCHED_VAR}})',\
         logdata:'Content-Encoding: %{{MATCHED_VAR}}',tag:'attack-protocol',tag:'paranoia-level/1',\
         tag:'meshward',severity:'CRITICAL',\
         setvar:'tx.inbound_anomaly_score_pl1=+%{{tx.critical_anomaly_score}}'\"\n\
         SecRule RESPONSE_HEADERS:Content-Encoding \"@rx {pattern}\" \
         \"id:{responses},phase:3,pass,nolog,t:none,t:lowercase{skips}\"\n"
    )
}

/// The mesh profile's SecLang: CRS setup variables, then body-processor choices and rule
/// removals by request shape (each `ctl` applies to this request only), then detection for what
/// CRS's rules do not read: uploaded text files (FILES_TMP_CONTENT) and multipart part headers.
fn mesh_directives() -> String {
    let types: String = CRS_CONTENT_TYPES
        .split_whitespace()
        .map(str::to_string)
        .chain(MESH_CONTENT_TYPES.iter().map(|t| format!("|{t}|")))
        .collect::<Vec<_>>()
        .join(" ");
    let id = |n: u64| SETTINGS_RULE_ID + n;
    let mut s = format!(
        "SecAction \"id:{},phase:1,pass,nolog,t:none,\
         setvar:'tx.allowed_methods={MESH_METHODS}',\
         setvar:'tx.allowed_request_content_type={types}'\"\n",
        id(1)
    );
    // A `+json`/`+xml` type is JSON/XML by definition (RFC 6839): parse it with that processor so
    // its values are ARGS the rules inspect (rule 200001 only matches `application/json`), and do
    // not refuse it for not being in the list above (rule 920420 cannot match a suffix; the
    // parser still refuses a body that is not JSON/XML with 400, rule 200002). gRPC's
    // `+json`/`+xml` variants are framed, not plain JSON/XML, so they are left out.
    for (n, suffix, processor) in [(2, "json", "JSON"), (3, "xml", "XML")] {
        s.push_str(&format!(
            "SecRule REQUEST_HEADERS:Content-Type \"@rx {}\" \
             \"id:{},phase:1,t:none,t:lowercase,pass,nolog,chain\"\n\
             SecRule REQUEST_HEADERS:Content-Type \"!@rx ^application/grpc\" \
             \"t:none,t:lowercase,ctl:requestBodyProcessor={processor},ctl:ruleRemoveById=920420\"\n",
            suffix_pattern(suffix),
            id(n)
        ));
    }
    // Framed gRPC / gRPC-Web (any variant, `+json` included) and bare protobuf: their messages'
    // string fields become ARGS. A broken frame sets REQBODY_ERROR and is refused with 400
    // (rule 200002) like a broken JSON body: gRPC clients never send one.
    for (n, pattern, processor) in [
        (4, r"^application/grpc", "GRPC"),
        (5, r"^application/(?:x-)?protobuf\s*(?:;|$)", "PROTOBUF"),
        (6, r"^application/(?:x-ndjson|ndjson|jsonl)\s*(?:;|$)", "NDJSON"),
    ] {
        s.push_str(&format!(
            "SecRule REQUEST_HEADERS:Content-Type \"@rx {pattern}\" \
             \"id:{},phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor={processor}\"\n",
            id(n)
        ));
    }
    // A body without a Content-Type (clients that post a form without saying so): parsed as a
    // form, the most common case, so its values are ARGS; not refused for the missing header
    // (rules 920340 and 920640). Only a request that announces a body gets the processor (a
    // bodiless GET keeps none, as in ModSecurity): a Content-Length or Transfer-Encoding says so
    // in HTTP/1.1; HTTP/2 clients often send neither, so there a POST, PUT or PATCH does.
    s.push_str(&format!(
        "SecRule &REQUEST_HEADERS:Content-Type \"@eq 0\" \
         \"id:{},phase:1,t:none,pass,nolog,ctl:ruleRemoveById=920340,ctl:ruleRemoveById=920640\"\n",
        id(7)
    ));
    s.push_str(&format!(
        "SecRule &REQUEST_HEADERS:Content-Type \"@eq 0\" \"id:{},phase:1,t:none,pass,nolog,chain\"\n\
         SecRule REQUEST_HEADERS:Content-Length|REQUEST_HEADERS:Transfer-Encoding \"!@rx ^0?$\" \
         \"t:none,ctl:requestBodyProcessor=URLENCODED\"\n",
        id(13)
    ));
    s.push_str(&format!(
        "SecRule &REQUEST_HEADERS:Content-Type \"@eq 0\" \"id:{},phase:1,t:none,pass,nolog,chain\"\n\
         SecRule REQUEST_METHOD \"@rx ^(?:POST|PUT|PATCH)$\" \"t:none,ctl:requestBodyProcessor=URLENCODED\"\n",
        id(14)
    ));
    // GET with a body (search APIs such as Elasticsearch's `_search`): its body is inspected as
    // any other (by Content-Type) instead of refused (rules 920170, 920171). HEAD stays refused.
    s.push_str(&format!(
        "SecRule REQUEST_METHOD \"@streq GET\" \
         \"id:{},phase:1,t:none,pass,nolog,ctl:ruleRemoveById=920170,ctl:ruleRemoveById=920171\"\n",
        id(8)
    ));
    // An octet stream is allowed but not parsed: the event says so.
    s.push_str(&format!(
        "SecRule REQUEST_HEADERS:Content-Type \"@rx ^application/octet-stream\" \
         \"id:{},phase:1,t:none,t:lowercase,pass,log,\
         msg:'Body not inspected as text: application/octet-stream (only REQUEST_BODY rules see its bytes)',\
         tag:'{MESH_TAG}',tag:'meshward/not-inspected'\"\n",
        id(9)
    ));
    // CRS reads neither uploaded files nor part headers beyond its 922xxx checks, and file names
    // (FILES, with a decoded `filename*`) only for path traversal and risky extensions: scan file
    // names, text files (binary ones never reach FILES_TMP_CONTENT) and every part's header lines
    // with libinjection and for PHP code, scored as CRS's own attack rules are (critical,
    // paranoia level 1).
    let targets = "FILES|FILES_TMP_CONTENT|MULTIPART_PART_HEADERS";
    let score = |family: &str| {
        format!(
            "setvar:'tx.{family}_score=+%{{tx.critical_anomaly_score}}',\
             setvar:'tx.inbound_anomaly_score_pl1=+%{{tx.critical_anomaly_score}}'"
        )
    };
    for (n, operator, what, tag, family) in [
        (10, "@detectSQLi", "SQL injection", "attack-sqli", "sql_injection"),
        (11, "@detectXSS", "XSS", "attack-xss", "xss"),
        (
            12,
            r"@rx (?i)<\?(?:php|=)",
            "PHP code",
            "attack-injection-php",
            "php_injection",
        ),
    ] {
        s.push_str(&format!(
            "SecRule {targets} \"{operator}\" \
             \"id:{},phase:2,block,capture,t:none,\
             msg:'{what} in an uploaded file name, text file or multipart part header',\
             logdata:'Matched Data: %{{TX.0}} found within %{{MATCHED_VAR_NAME}}',\
             tag:'{tag}',tag:'paranoia-level/1',tag:'{MESH_TAG}',severity:'CRITICAL',{}\"\n",
            id(n),
            score(family)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn crs_profile_adds_nothing() {
        assert_eq!(Profile::Crs.directives(), "");
    }

    #[test]
    fn mesh_profile_extends_crs_defaults() {
        let d = Profile::Mesh.directives();
        assert!(d.contains("setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'"));
        for t in CRS_CONTENT_TYPES.split_whitespace() {
            assert!(d.contains(t), "{t} kept");
        }
        assert!(d.contains("|application/grpc| |application/grpc+proto|"));
        assert!(d.contains("ctl:requestBodyProcessor=JSON"));
        assert!(d.contains("ctl:requestBodyProcessor=XML"));
        for processor in ["GRPC", "PROTOBUF", "NDJSON", "URLENCODED"] {
            assert!(
                d.contains(&format!("ctl:requestBodyProcessor={processor}")),
                "{processor}"
            );
        }
        for t in ["text/plain", "application/octet-stream", "application/x-ndjson"] {
            assert!(d.contains(&format!("|{t}|")), "{t} allowed");
        }
        for removed in [920170, 920171, 920340, 920640] {
            assert!(d.contains(&format!("ctl:ruleRemoveById={removed}")), "{removed}");
        }
    }

    #[test]
    fn mesh_restricted_headers_are_crs_defaults_without_content_encoding() {
        let init =
            std::fs::read_to_string(meshward_testkit::locate::crs_dir().join("rules/REQUEST-901-INITIALIZATION.conf"))
                .unwrap();
        let crs = Regex::new(r"setvar:'tx\.restricted_headers_basic=([^']*)'").unwrap();
        let crs = &crs.captures(&init).unwrap()[1];
        let without: Vec<&str> = crs.split_whitespace().filter(|h| *h != "/content-encoding/").collect();
        assert_eq!(
            without.len() + 1,
            crs.split_whitespace().count(),
            "CRS restricts content-encoding"
        );
        assert_eq!(MESH_RESTRICTED_HEADERS.split_whitespace().collect::<Vec<_>>(), without);
        let d = Profile::Mesh.directives();
        assert!(d.contains(&format!("id:{UNDECODED_ENCODING_RULE},phase:2,block")));
        for id in COMPRESSED_RESPONSE_SKIPS {
            assert!(d.contains(&format!("ctl:ruleRemoveById={id}")), "{id}");
            let file = std::fs::read_dir(meshward_testkit::locate::crs_dir().join("rules"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.to_string_lossy().contains(&format!("RESPONSE-{}", id / 1000)))
                .unwrap();
            let text = std::fs::read_to_string(file).unwrap();
            let at = text.find(&format!("id:{id},")).unwrap();
            let before = &text[..at];
            let rule = &before[before.rfind("SecRule").unwrap()..];
            assert!(
                rule.contains("RESPONSE_HEADERS:Content-Encoding"),
                "{id} is a compressed-body skip"
            );
        }
    }

    #[test]
    fn suffix_pattern_matches_structured_suffixes_only() {
        let json = Regex::new(&suffix_pattern("json")).unwrap();
        for yes in [
            "application/vnd.api+json",
            "application/merge-patch+json; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(json.is_match(yes), "{yes}");
        }
        for no in [
            "application/json",
            "application/jsonx",
            "text/x+json",
            "application/x+jsonp",
        ] {
            assert!(!json.is_match(no), "{no}");
        }
    }
}
