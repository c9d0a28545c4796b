//! The configuration examples in the READMEs load as written.

use meshward_waf::loaded::Loaded;

/// The first fenced `json` block after the heading `heading` in `text`.
fn json_block_after<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text.find(heading).unwrap_or_else(|| panic!("no heading {heading:?}"));
    let rest = &text[start..];
    let open = rest.find("```json\n").expect("a json block after the heading") + "```json\n".len();
    let close = rest[open..].find("```").expect("the block ends");
    &rest[open..open + close]
}

#[test]
fn top_readme_waf_example_loads() {
    let readme = include_str!("../../../README.md");
    let example = json_block_after(readme, "## WAF filter");
    let loaded = Loaded::load(example.as_bytes()).unwrap_or_else(|e| {
        panic!(
            "README example rejected: {}",
            meshward_waf::loaded::invalid_configuration_message(&e)
        )
    });
    assert_eq!(loaded.report().sets, 2, "default set plus `admin`");
}
