//! Writing YAML by hand, so that evidence can ride along as comments (the policy format rejects
//! unknown fields, and serde writers drop comments).

use std::fmt::Write;

use crate::learn::Evidence;

/// A double-quoted scalar: JSON string syntax is valid YAML and escapes everything needed.
pub fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A flow list of quoted scalars: `["a", "b"]`.
pub fn flow(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// `1 hit`, `2 hits`.
pub fn hits(n: u64) -> String {
    if n == 1 {
        "1 hit".into()
    } else {
        format!("{n} hits")
    }
}

/// A comment text on one line (a path never holds a newline; this keeps it so regardless).
pub fn comment(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The evidence of one path template, as a trailing comment (a sample only when it differs).
pub fn evidence(template: &str, e: &Evidence) -> String {
    let mut out = hits(e.hits);
    if e.would_block > 0 {
        let _ = write!(out, " ({} would_block)", e.would_block);
    }
    match (&e.first_seen, &e.last_seen) {
        (Some(f), Some(l)) => {
            let _ = write!(out, ", seen {f} .. {l}");
        }
        (Some(f), None) => {
            let _ = write!(out, ", first seen {f}");
        }
        (None, Some(l)) => {
            let _ = write!(out, ", last seen {l}");
        }
        (None, None) => {}
    }
    if e.sample.is_empty() || e.sample == template {
        return comment(&out);
    }
    let _ = write!(out, ", e.g. {}", e.sample);
    comment(&out)
}

/// Unique policy names, one per host, in order.
pub fn unique_names(hosts: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    hosts
        .into_iter()
        .map(|h| {
            let base = crate::learn::policy_name(h.as_ref());
            let mut name = base.clone();
            let mut n = 2;
            while !seen.insert(name.clone()) {
                let mut b = base.clone();
                b.truncate(58);
                name = format!("{b}-{n}");
                n += 1;
            }
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_names() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(flow(["GET", "POST"]), r#"["GET", "POST"]"#);
        assert_eq!(comment("a\nb"), "a b");
        let long = "x".repeat(80);
        let names = unique_names(["orders:8080", "orders_8080", long.as_str(), long.as_str()]);
        assert_eq!(names[0], "learned-orders_8080");
        assert_eq!(names[1], "learned-orders_8080-2");
        assert_eq!(names[2].len(), 64);
        assert!(names[3].ends_with("-2") && names[3].len() <= 64);
    }
}
