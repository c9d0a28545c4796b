//! Path templating: per service, a trie of the observed path segments, folded into `{*}` where a
//! position holds identifiers (or many look-alike words) and into `{**}` where a static asset
//! tree hangs. The templates are the ones both meshward (`filters/policy/src/pattern.rs`) and
//! Istio accept: `{*}` one whole segment, `{**}` the rest, only as the last segment.

use std::collections::{BTreeMap, BTreeSet};

use meshward_policy::pattern::PathPattern;
use serde::Serialize;

use crate::error::LearnError;
use crate::events::Shape;
use crate::segment::{has_file_extension, id_kind, is_grpc_service, IdKind};

/// One segment.
pub const ONE: &str = "{*}";
/// The rest of the path.
pub const REST: &str = "{**}";

/// Share of siblings that must agree on methods and response shape before words are folded.
const ALIKE_SHARE: f64 = 0.8;

/// What was observed on one concrete path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathStats {
    /// Requests per method.
    pub methods: BTreeMap<String, u64>,
    /// Requests per response shape.
    pub shapes: BTreeMap<Shape, u64>,
}

impl PathStats {
    /// Adds `n` requests of `method` answered with `shape`.
    pub fn add(&mut self, method: &str, shape: &Shape, n: u64) {
        *self.methods.entry(method.to_owned()).or_default() += n;
        *self.shapes.entry(shape.clone()).or_default() += n;
    }
}

/// A user's template (`--template`): paths it matches take it as their template, unchanged.
#[derive(Debug, Clone)]
pub struct Pin {
    /// As given.
    pub text: String,
    pattern: PathPattern,
}

impl Pin {
    /// Checks that `text` is a path or template both meshward and Istio accept.
    pub fn parse(text: &str) -> Result<Pin, LearnError> {
        let err = |reason: String| LearnError::Pin {
            pattern: text.to_owned(),
            reason,
        };
        check_pattern(text).map_err(err)?;
        let pattern = PathPattern::parse(text).map_err(err)?;
        Ok(Pin {
            text: text.to_owned(),
            pattern,
        })
    }

    /// Whether the pin covers `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.pattern.matches(path)
    }
}

/// Checks a path or template against what both outputs accept: starts with `/`, `{*}` and
/// `{**}` are whole segments, `{**}` only last, no other `*`, `{` or `}`.
pub fn check_pattern(text: &str) -> Result<(), String> {
    let Some(rest) = text.strip_prefix('/') else {
        return Err("a path starts with `/`".into());
    };
    let segs: Vec<&str> = rest.split('/').collect();
    for (i, s) in segs.iter().enumerate() {
        match *s {
            ONE => {}
            REST if i + 1 == segs.len() => {}
            REST => return Err("`{**}` must be the last segment".into()),
            s if s.contains(['*', '{', '}']) => {
                return Err(format!("segment `{s}`: `*`, `{{` and `}}` only as `{{*}}` or `{{**}}`"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// How to template.
#[derive(Debug, Clone)]
pub struct Options {
    /// Distinct word siblings needed before they are folded into `{*}` (and the distinct files
    /// under a prefix before they become `{**}`).
    pub fold_threshold: usize,
    /// `--template` pins, tried in order.
    pub pins: Vec<Pin>,
    /// `--literal` paths: always their own template.
    pub literals: BTreeSet<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fold_threshold: 10,
            pins: Vec::new(),
            literals: BTreeSet::new(),
        }
    }
}

/// A position the learner saw many values at and did not fold, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The position, as a template whose last segment is `<...>`.
    pub position: String,
    /// Distinct literal values there.
    pub distinct: usize,
    /// Why they were kept literal.
    pub reason: String,
}

/// The templates of one service.
#[derive(Debug, Clone, Default)]
pub struct Templated {
    /// Each observed path and its template.
    pub template_of: BTreeMap<String, String>,
    /// Positions kept literal although they hold many values.
    pub notes: Vec<Note>,
    /// Observed paths no template can hold (not starting with `/`).
    pub unrepresentable: Vec<String>,
}

/// Templates the observed paths of one service.
pub fn learn(paths: &BTreeMap<String, PathStats>, opts: &Options) -> Templated {
    let mut out = Templated::default();
    let entries: Vec<(&str, &PathStats)> = paths.iter().map(|(p, s)| (p.as_str(), s)).collect();
    let mut root = Node::default();
    for (id, (path, _)) in entries.iter().enumerate() {
        if let Some(pin) = opts.pins.iter().find(|p| p.matches(path)) {
            out.template_of.insert((*path).to_owned(), pin.text.clone());
        } else if opts.literals.contains(*path) {
            out.template_of.insert((*path).to_owned(), (*path).to_owned());
        } else if let Some(rest) = path.strip_prefix('/') {
            root.insert(rest.split('/'), id);
        } else {
            out.unrepresentable.push((*path).to_owned());
        }
    }
    let folder = Folder {
        entries: &entries,
        threshold: opts.fold_threshold.max(2),
    };
    folder.fold(&mut root, "", 0, &mut out.notes);
    root.assign("", &entries, &mut out.template_of);
    out
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// Paths ending here (ids into the entries).
    here: Vec<usize>,
}

impl Node {
    fn insert<'s>(&mut self, mut segs: impl Iterator<Item = &'s str>, id: usize) {
        match segs.next() {
            None => self.here.push(id),
            Some(s) => self.children.entry(s.to_owned()).or_default().insert(segs, id),
        }
    }

    fn merge(&mut self, other: Node) {
        self.here.extend(other.here);
        for (k, child) in other.children {
            self.children.entry(k).or_default().merge(child);
        }
    }

    fn collect(&self, out: &mut Vec<usize>) {
        out.extend(&self.here);
        for c in self.children.values() {
            c.collect(out);
        }
    }

    fn depth(&self) -> usize {
        self.children.values().map(|c| 1 + c.depth()).max().unwrap_or(0)
    }

    fn assign(&self, prefix: &str, entries: &[(&str, &PathStats)], out: &mut BTreeMap<String, String>) {
        let template = if prefix.is_empty() { "/" } else { prefix };
        for id in &self.here {
            if let Some((path, _)) = entries.get(*id) {
                out.insert((*path).to_owned(), template.to_owned());
            }
        }
        for (k, c) in &self.children {
            c.assign(&format!("{prefix}/{k}"), entries, out);
        }
    }
}

struct Folder<'a> {
    entries: &'a [(&'a str, &'a PathStats)],
    threshold: usize,
}

impl Folder<'_> {
    fn stats(&self, id: usize) -> Option<&PathStats> {
        self.entries.get(id).map(|(_, s)| *s)
    }

    fn fold(&self, node: &mut Node, prefix: &str, depth: usize, notes: &mut Vec<Note>) {
        if depth >= 1 && self.is_asset_tree(node) {
            let mut ids = Vec::new();
            for c in std::mem::take(&mut node.children).into_values() {
                c.collect(&mut ids);
            }
            node.children.insert(
                REST.to_owned(),
                Node {
                    children: BTreeMap::new(),
                    here: ids,
                },
            );
            return;
        }
        let mut ids: Vec<String> = node
            .children
            .keys()
            .filter(|k| k.as_str() != ONE && id_kind(k).is_some())
            .cloned()
            .collect();
        // A random token sometimes lacks the digits or the case mix that mark it: a word as long
        // as the tokens beside it and made of their characters is one of them.
        let token_lengths: BTreeSet<usize> = ids
            .iter()
            .filter(|k| matches!(id_kind(k), Some(IdKind::Token | IdKind::Base64Url)))
            .map(String::len)
            .collect();
        ids.extend(
            node.children
                .keys()
                .filter(|k| {
                    k.len() >= 8
                        && token_lengths.contains(&k.len())
                        && id_kind(k).is_none()
                        && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                })
                .cloned()
                .collect::<Vec<_>>(),
        );
        if !ids.is_empty() {
            self.fold_into_one(node, &ids);
        }
        let words: Vec<String> = node
            .children
            .keys()
            .filter(|k| !k.is_empty() && k.as_str() != ONE)
            .cloned()
            .collect();
        if words.len() >= self.threshold {
            let parent = prefix.rsplit('/').next().unwrap_or("");
            // Words right under `/` are the application's sections and pages, not a parameter:
            // `/{*}` would allow any top-level path.
            let verdict = if depth == 0 {
                Err("top-level words are routes, not a parameter".to_owned())
            } else {
                self.alike(node, &words, parent)
            };
            match verdict {
                Ok(()) => self.fold_into_one(node, &words),
                Err(reason) => notes.push(Note {
                    position: format!("{prefix}/<...>"),
                    distinct: words.len(),
                    reason,
                }),
            }
        }
        for (k, child) in &mut node.children {
            self.fold(child, &format!("{prefix}/{k}"), depth + 1, notes);
        }
    }

    fn fold_into_one(&self, node: &mut Node, keys: &[String]) {
        let mut one = node.children.remove(ONE).unwrap_or_default();
        for k in keys {
            if let Some(c) = node.children.remove(k) {
                one.merge(c);
            }
        }
        node.children.insert(ONE.to_owned(), one);
    }

    /// A static asset tree: many distinct files at varying depth, all fetched with GET/HEAD.
    fn is_asset_tree(&self, node: &Node) -> bool {
        let mut ids = Vec::new();
        for c in node.children.values() {
            c.collect(&mut ids);
        }
        ids.len() >= self.threshold
            && node.depth() >= 2
            && ids.iter().all(|id| {
                self.entries.get(*id).is_some_and(|(path, stats)| {
                    has_file_extension(path.rsplit('/').next().unwrap_or(""))
                        && stats.methods.keys().all(|m| m == "GET" || m == "HEAD")
                })
            })
    }

    /// Whether word siblings are values of one parameter: not gRPC methods, mostly the same
    /// methods and response shape, and no sibling with a subpath no other sibling has.
    fn alike(&self, node: &Node, words: &[String], parent: &str) -> Result<(), String> {
        if is_grpc_service(parent) {
            return Err("gRPC methods of one service are a closed set".into());
        }
        // Per sibling: the methods and the dominant response shape of the requests ending there.
        let mut method_sets: Vec<BTreeSet<&str>> = Vec::new();
        let mut shapes_seen: BTreeMap<&Shape, usize> = BTreeMap::new();
        let mut with_shape = 0usize;
        let mut subkeys: BTreeMap<String, usize> = BTreeMap::new();
        let mut sibling_keys: Vec<BTreeSet<String>> = Vec::new();
        for w in words {
            let Some(child) = node.children.get(w) else {
                continue;
            };
            let mut methods = BTreeSet::new();
            let mut shapes: BTreeMap<&Shape, u64> = BTreeMap::new();
            for stats in child.here.iter().filter_map(|id| self.stats(*id)) {
                methods.extend(stats.methods.keys().map(String::as_str));
                for (shape, n) in &stats.shapes {
                    *shapes.entry(shape).or_default() += n;
                }
            }
            if let Some((dominant, _)) = shapes.iter().max_by_key(|(_, n)| **n) {
                if dominant
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("application/grpc"))
                {
                    return Err("gRPC methods are a closed set".into());
                }
                *shapes_seen.entry(dominant).or_default() += 1;
                with_shape += 1;
            }
            method_sets.push(methods);
            let keys: BTreeSet<String> = child
                .children
                .keys()
                .map(|k| {
                    if id_kind(k).is_some() {
                        ONE.to_owned()
                    } else {
                        k.clone()
                    }
                })
                .collect();
            for k in &keys {
                *subkeys.entry(k.clone()).or_default() += 1;
            }
            sibling_keys.push(keys);
        }
        let n = words.len();
        // Each value of a parameter is seen with a few of the route's methods only; the core
        // methods are the ones a fifth of the siblings show, and the siblings agree when most
        // of them use nothing else.
        let mut method_use: BTreeMap<&str, usize> = BTreeMap::new();
        for m in method_sets.iter().flatten() {
            *method_use.entry(m).or_default() += 1;
        }
        let core: BTreeSet<&str> = method_use
            .iter()
            .filter(|(_, k)| **k * 5 >= n)
            .map(|(m, _)| *m)
            .collect();
        let within = method_sets.iter().filter(|m| m.is_subset(&core)).count();
        if (within as f64) < ALIKE_SHARE * n as f64 {
            return Err(format!(
                "siblings differ in methods ({} methods among them)",
                method_use.len()
            ));
        }
        let agreeing = shapes_seen.values().copied().max().unwrap_or(0);
        if (agreeing as f64) < ALIKE_SHARE * with_shape as f64 {
            return Err(format!(
                "siblings differ in response shape ({} shapes among them)",
                shapes_seen.len()
            ));
        }
        let odd = sibling_keys
            .iter()
            .filter(|keys| keys.iter().any(|k| subkeys.get(k).copied().unwrap_or(0) < 2))
            .count();
        if odd * 10 > n {
            return Err(format!("{odd} siblings have subpaths no other sibling has"));
        }
        Ok(())
    }
}

/// Whether a segment kind was folded because it cannot be written literally.
pub fn is_unrepresentable(seg: &str) -> bool {
    id_kind(seg) == Some(IdKind::Unrepresentable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(method: &str, ct: &str) -> PathStats {
        let mut s = PathStats::default();
        s.add(
            method,
            &Shape {
                status_class: Some("2xx".into()),
                content_type: Some(ct.into()),
            },
            1,
        );
        s
    }

    fn run(paths: &[(&str, &str, &str)], opts: &Options) -> Templated {
        let map = paths.iter().map(|(m, p, ct)| ((*p).to_owned(), stats(m, ct))).collect();
        learn(&map, opts)
    }

    fn templates(t: &Templated) -> BTreeSet<&str> {
        t.template_of.values().map(String::as_str).collect()
    }

    #[test]
    fn identifiers_fold_and_words_stay() {
        let t = run(
            &[
                ("GET", "/api/users/42", "application/json"),
                (
                    "GET",
                    "/api/users/7/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                    "application/json",
                ),
                ("GET", "/api/users/me", "application/json"),
                ("GET", "/api/users", "application/json"),
                ("GET", "/", "text/html"),
                ("GET", "/health/", "text/plain"),
            ],
            &Options::default(),
        );
        assert_eq!(
            templates(&t),
            BTreeSet::from([
                "/",
                "/api/users",
                "/api/users/me",
                "/api/users/{*}",
                "/api/users/{*}/orders/{*}",
                "/health/"
            ])
        );
        assert_eq!(t.template_of["/api/users/42"], "/api/users/{*}");
    }

    #[test]
    fn a_word_shaped_like_the_tokens_beside_it_is_one() {
        let t = run(
            &[
                ("GET", "/s/aZ-k_9PqLm3xYt7wQ2", "application/json"),
                ("GET", "/s/CfFFCBISbQYtFd6XSR", "application/json"),
                ("GET", "/s/settings", "application/json"),
                ("GET", "/s/abcdefghijklmnopqrstu", "application/json"),
            ],
            &Options::default(),
        );
        assert_eq!(
            templates(&t),
            BTreeSet::from(["/s/{*}", "/s/settings", "/s/abcdefghijklmnopqrstu"])
        );
    }

    #[test]
    fn many_look_alike_words_fold_at_the_threshold_only() {
        let slugs: Vec<String> = (0..10)
            .map(|i| format!("/blog/post-{}", ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"][i]))
            .collect();
        let paths: Vec<(&str, &str, &str)> = slugs.iter().map(|p| ("GET", p.as_str(), "text/html")).collect();
        let t = run(&paths, &Options::default());
        assert_eq!(templates(&t), BTreeSet::from(["/blog/{*}"]));
        let t = run(&paths[..9], &Options::default());
        assert_eq!(templates(&t).len(), 9);
        let t = run(
            &paths[..9],
            &Options {
                fold_threshold: 9,
                ..Options::default()
            },
        );
        assert_eq!(templates(&t), BTreeSet::from(["/blog/{*}"]));
    }

    #[test]
    fn top_level_words_never_fold_but_top_level_ids_do() {
        let pages: Vec<String> = (0..12)
            .map(|i| {
                format!(
                    "/page{}",
                    ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"][i]
                )
            })
            .collect();
        let mut paths: Vec<(&str, &str, &str)> = pages.iter().map(|p| ("GET", p.as_str(), "text/html")).collect();
        paths.push(("GET", "/12345", "text/html"));
        let t = run(&paths, &Options::default());
        assert_eq!(templates(&t).len(), 13);
        assert!(templates(&t).contains("/{*}"));
        assert_eq!(t.notes[0].position, "/<...>");
    }

    #[test]
    fn unlike_words_and_grpc_methods_stay_literal_with_a_note() {
        let words = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];
        let mixed: Vec<(String, &str)> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    format!("/api/{w}"),
                    if i % 2 == 0 { "text/html" } else { "application/json" },
                )
            })
            .collect();
        let paths: Vec<(&str, &str, &str)> = mixed.iter().map(|(p, ct)| ("GET", p.as_str(), *ct)).collect();
        let t = run(&paths, &Options::default());
        assert_eq!(templates(&t).len(), words.len());
        assert_eq!(t.notes.len(), 1);
        assert_eq!(t.notes[0].position, "/api/<...>");
        assert!(t.notes[0].reason.contains("response shape"), "{:?}", t.notes);
        // Each value seen with one of the route's methods: still one parameter.
        let sparse: Vec<(&str, &str, &str)> = mixed
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (["GET", "DELETE"][i % 2], p.as_str(), "application/json"))
            .collect();
        assert_eq!(
            templates(&run(&sparse, &Options::default())),
            BTreeSet::from(["/api/{*}"])
        );
        // A method only one value shows is not the parameter's: more than a fifth of those.
        let odd: Vec<(&str, &str, &str)> = mixed
            .iter()
            .enumerate()
            .map(|(i, (p, _))| {
                (
                    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"][i % 6],
                    p.as_str(),
                    "application/json",
                )
            })
            .collect();
        let t = run(&odd, &Options::default());
        assert_eq!(templates(&t).len(), words.len());
        assert!(t.notes[0].reason.contains("differ in methods"), "{:?}", t.notes);
        let grpc: Vec<String> = words
            .iter()
            .map(|w| format!("/acme.v1.Billing/Get{}", w.to_uppercase()))
            .collect();
        let paths: Vec<(&str, &str, &str)> = grpc.iter().map(|p| ("POST", p.as_str(), "application/grpc")).collect();
        let t = run(&paths, &Options::default());
        assert_eq!(templates(&t).len(), words.len());
        assert!(t.notes[0].reason.contains("gRPC"), "{:?}", t.notes);
    }

    #[test]
    fn a_static_tree_becomes_a_tail_and_an_api_does_not() {
        let files: Vec<String> = (0..12)
            .map(|i| format!("/static/{}/f{i}.{}", ["js", "css/themes"][i % 2], ["js", "css"][i % 2]))
            .collect();
        let mut paths: Vec<(&str, &str, &str)> = files.iter().map(|p| ("GET", p.as_str(), "text/css")).collect();
        paths.push(("GET", "/static", "text/html"));
        let t = run(&paths, &Options::default());
        assert_eq!(templates(&t), BTreeSet::from(["/static", "/static/{**}"]));
        // A POST among them: not a static tree.
        paths[0].0 = "POST";
        let t = run(&paths, &Options::default());
        assert!(!templates(&t).contains("/static/{**}"));
    }

    #[test]
    fn pins_and_literals_are_respected() {
        let opts = Options {
            pins: vec![Pin::parse("/api/users/{*}/avatar").unwrap()],
            literals: BTreeSet::from(["/api/users/12345".to_owned()]),
            ..Options::default()
        };
        let t = run(
            &[
                ("GET", "/api/users/alice/avatar", "image/png"),
                ("GET", "/api/users/12345", "application/json"),
                ("GET", "/api/users/67890", "application/json"),
            ],
            &opts,
        );
        assert_eq!(t.template_of["/api/users/alice/avatar"], "/api/users/{*}/avatar");
        assert_eq!(t.template_of["/api/users/12345"], "/api/users/12345");
        assert_eq!(t.template_of["/api/users/67890"], "/api/users/{*}");
    }

    #[test]
    fn pins_are_checked_for_both_outputs() {
        assert!(Pin::parse("/a/{*}/b/{**}").is_ok());
        for bad in ["a/{*}", "/a/{**}/b", "/a/x*", "/a/{id}"] {
            assert!(Pin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unrepresentable_segments_fold_and_non_paths_are_listed() {
        let t = run(
            &[("GET", "/a/b*c", "x/y"), ("OPTIONS", "*", "x/y")],
            &Options::default(),
        );
        assert_eq!(t.template_of["/a/b*c"], "/a/{*}");
        assert_eq!(t.unrepresentable, vec!["*".to_owned()]);
        assert!(is_unrepresentable("b*c"));
    }
}
