//! Path normalization of the policy filter: normalizing a normalized path changes nothing;
//! with `backend: strict` the engine decides a request on a raw path as it decides it on the
//! normalized path; with `backend: common` (the loose backend readings) the raw path is stopped
//! whenever its normalized path is (the raw path holds more a loose backend may read, never less),
//! and never passes where the strict decision stops it.
//!
//! The first byte picks one of the 18 normalization settings (encoded slash × backslash ×
//! merge slashes) and the method; the rest is the raw `:path`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_policy::normalize::normalize_path;
use meshward_policy::{Engine, Request};
use std::sync::OnceLock;

const ENCODED_SLASH: [&str; 3] = ["reject", "keep", "decode"];
const BACKSLASH: [&str; 3] = ["reject", "keep", "slash"];

/// A small enforcing policy with exact, prefix, suffix and regex paths, so that a path that
/// normalizes differently would be decided differently.
fn document(encoded_slash: &str, backslash: &str, merge: bool, backend: &str) -> String {
    format!(
        r#"
mode: enforce
default: allow
normalization: {{ encoded_slash: {encoded_slash}, backslash: {backslash}, merge_slashes: {merge}, backend: {backend} }}
policies:
  - name: deny-admin
    action: DENY
    rules:
      - to: [{{ paths: ["/admin", "/admin/*", "*.php", "/a%2Fb"] }}]
  - name: deny-secret-regex
    action: DENY
    rules:
      - to: [{{ pathRegex: ["^/api/v[0-9]+/secret(/.*)?$", ".*/\\.git/.*"] }}]
  - name: audit-api
    action: AUDIT
    rules:
      - to: [{{ paths: ["/api/*"], methods: [POST] }}]
"#
    )
}

/// The 18 settings' engines, strict backend first then common: index `i` and `18 + i`.
fn engines() -> &'static [Engine] {
    static ENGINES: OnceLock<Vec<Engine>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let mut all = Vec::new();
        for backend in ["strict", "common"] {
            for merge in [true, false] {
                for e in ENCODED_SLASH {
                    for b in BACKSLASH {
                        let text = document(e, b, merge, backend);
                        all.push(Engine::from_text(&text).unwrap_or_else(|err| panic!("{err}\n{text}")));
                    }
                }
            }
        }
        all
    })
}

fn settings(index: usize) -> meshward_policy::model::Normalization {
    let merge = index < 9;
    let text = document(ENCODED_SLASH[index % 9 / 3], BACKSLASH[index % 3], merge, "strict");
    meshward_policy::parse_document(&text)
        .expect("fixed document")
        .normalization
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(raw) else {
        return;
    };
    let index = usize::from(pick) % 18;
    let method = if pick & 0x80 == 0 { "GET" } else { "POST" };
    let cfg = settings(index);
    let Ok(normalized) = normalize_path(raw, method, &cfg) else {
        return;
    };
    let again = normalize_path(&normalized, method, &cfg);
    assert_eq!(again.as_deref(), Ok(normalized.as_str()), "not idempotent on {raw:?}");
    let engine = &engines()[index];
    let request = |path| Request {
        method,
        path,
        authority: "svc.example.com",
        ..Request::default()
    };
    let raw_ruling = engine.decide(&request(raw));
    let normalized_ruling = engine.decide(&request(&normalized));
    assert_eq!(
        (
            raw_ruling.decision,
            raw_ruling.status,
            raw_ruling.effective,
            raw_ruling.decided_by,
            &raw_ruling.audits
        ),
        (
            normalized_ruling.decision,
            normalized_ruling.status,
            normalized_ruling.effective,
            normalized_ruling.decided_by,
            &normalized_ruling.audits
        ),
        "raw {raw:?} and normalized {normalized:?} are decided differently"
    );
    assert_eq!(
        raw_ruling.facts.path_normalized,
        normalized_ruling.facts.path_normalized
    );
    let common = &engines()[18 + index];
    let loose_raw = common.decide(&request(raw));
    let loose_normalized = common.decide(&request(&normalized));
    assert!(
        loose_raw.stops() || !loose_normalized.stops(),
        "common: raw {raw:?} passes ({}) where its normalized {normalized:?} is stopped ({})",
        loose_raw.event_json(),
        loose_normalized.event_json()
    );
    assert!(
        loose_raw.stops() || !raw_ruling.stops(),
        "common: raw {raw:?} passes where the strict reading stops it ({})",
        loose_raw.event_json()
    );
});
