//! Reads SecLang text into directives: comments, line continuations, quoting and `Include`.

pub(crate) mod actions;
mod glob;

use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, LoadError, Location};
use crate::files::Files;

/// Deepest `Include` nesting accepted (guards against include cycles).
const MAX_INCLUDE_DEPTH: usize = 32;

/// One directive with its unquoted arguments, as ModSecurity's lexer hands it to the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directive {
    /// The directive name as written (e.g. `SecRule`).
    pub(crate) name: String,
    /// Arguments with their surrounding double quotes removed and `\"` unescaped.
    pub(crate) args: Vec<String>,
    /// Where the directive starts.
    pub(crate) location: Location,
    /// Directory that relative paths in this directive (data files) are resolved against.
    pub(crate) base_dir: PathBuf,
    /// Where the directive's file was read from; its data files are read from there too.
    pub(crate) files: Files,
}

/// Reads a rule file (and what it includes) from `files` into directives; its data files
/// will be read from `files` too.
pub(crate) fn read_file(files: &Files, path: &Path, out: &mut Vec<Directive>) -> Result<(), LoadError> {
    read_file_at(files, path, out, 0, None)
}

/// Reads SecLang `text` named `origin`; relative includes resolve against `base_dir` in `files`.
pub(crate) fn read_str(
    files: &Files,
    text: &str,
    origin: &Path,
    base_dir: &Path,
    out: &mut Vec<Directive>,
) -> Result<(), LoadError> {
    read_text(files, text, origin, base_dir, out, 0)
}

fn read_file_at(
    files: &Files,
    path: &Path,
    out: &mut Vec<Directive>,
    depth: usize,
    from: Option<&Location>,
) -> Result<(), LoadError> {
    let here = from.cloned().unwrap_or(Location {
        file: path.to_path_buf(),
        line: 0,
    });
    let bytes = files.read(path).map_err(|reason| {
        LoadError::new(
            &here,
            ErrorKind::Io {
                path: path.to_path_buf(),
                reason,
            },
        )
    })?;
    // Rule files are text; invalid UTF-8 bytes are kept as U+FFFD rather than rejected
    // because only comments in the wild carry them.
    let text = String::from_utf8_lossy(&bytes);
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    read_text(files, &text, path, &base, out, depth)
}

fn read_text(
    files: &Files,
    text: &str,
    origin: &Path,
    base_dir: &Path,
    out: &mut Vec<Directive>,
    depth: usize,
) -> Result<(), LoadError> {
    for (line_no, logical) in logical_lines(text) {
        let location = Location {
            file: origin.to_path_buf(),
            line: line_no,
        };
        let (name, args) = tokenize(&logical).map_err(|r| LoadError::new(&location, ErrorKind::Syntax(r)))?;
        let Some(name) = name else { continue };
        if name.eq_ignore_ascii_case("Include") || name.eq_ignore_ascii_case("IncludeOptional") {
            let optional = name.eq_ignore_ascii_case("IncludeOptional");
            if args.len() != 1 {
                return Err(LoadError::new(
                    &location,
                    ErrorKind::Syntax(format!("{name} takes one path")),
                ));
            }
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(LoadError::new(
                    &location,
                    ErrorKind::Syntax("Include nested too deeply (cycle?)".into()),
                ));
            }
            let target = base_dir.join(&args[0]);
            let paths = if glob::has_wildcards(&target) {
                glob::expand(&**files, &target).map_err(|reason| {
                    LoadError::new(
                        &location,
                        ErrorKind::Io {
                            path: target.clone(),
                            reason,
                        },
                    )
                })?
            } else {
                vec![target.clone()]
            };
            if paths.is_empty() && !optional {
                return Err(LoadError::new(
                    &location,
                    ErrorKind::Io {
                        path: target,
                        reason: "Include pattern matches no file".into(),
                    },
                ));
            }
            for file in paths {
                if optional && !files.is_file(&file) {
                    continue;
                }
                read_file_at(files, &file, out, depth + 1, Some(&location))?;
            }
            continue;
        }
        out.push(Directive {
            name,
            args,
            location,
            base_dir: base_dir.to_path_buf(),
            files: files.clone(),
        });
    }
    Ok(())
}

/// Joins continued lines (`\` as the last character) and drops comments and blank lines;
/// yields each logical line with the number of its first physical line.
pub(crate) fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut continuing = false;
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if !continuing {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            start = idx + 1;
        }
        // ModSecurity accepts trailing blanks after the continuation backslash.
        let body = line.trim_end_matches([' ', '\t']);
        if let Some(head) = body.strip_suffix('\\') {
            current.push_str(head);
            continuing = true;
        } else {
            current.push_str(line);
            continuing = false;
            out.push((start, std::mem::take(&mut current)));
        }
    }
    if continuing && !current.trim().is_empty() {
        out.push((start, current));
    }
    out
}

/// Splits a logical line into the directive name and its arguments.
pub(crate) fn tokenize(line: &str) -> Result<(Option<String>, Vec<String>), String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut token = String::new();
        if first == '"' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.peek() {
                        Some('"') => {
                            token.push('"');
                            chars.next();
                        }
                        Some(&n) => {
                            // Other escapes reach the operator/action parser untouched
                            // (a regex needs its `\\`, `\d`...).
                            token.push('\\');
                            token.push(n);
                            chars.next();
                        }
                        None => token.push('\\'),
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => token.push(c),
                }
            }
            if !closed {
                return Err(format!("unterminated double quote in: {}", truncate(line)));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                token.push(c);
                chars.next();
            }
        }
        tokens.push(token);
    }
    if tokens.is_empty() {
        return Ok((None, tokens));
    }
    let name = tokens.remove(0);
    Ok((Some(name), tokens))
}

fn truncate(s: &str) -> String {
    let t: String = s.trim().chars().take(80).collect();
    if t.len() < s.trim().len() {
        format!("{t}...")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_and_comments() {
        let text = "# comment\nSecRule ARGS \"@rx a\" \\\n    \"id:1,\\\n    pass\"\n\n  # indented comment\nSecAction \"id:2\"\n";
        let lines = logical_lines(text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0, 2);
        assert_eq!(lines[0].1, "SecRule ARGS \"@rx a\"     \"id:1,    pass\"");
        assert_eq!(lines[1].0, 7);
    }

    #[test]
    fn quoted_args_keep_regex_escapes() {
        let (name, args) = tokenize(r#"SecRule ARGS "@rx [\"'`]\\d\x5c" "id:1,msg:'a \"b\"'""#).unwrap();
        assert_eq!(name.as_deref(), Some("SecRule"));
        assert_eq!(
            args,
            vec![
                "ARGS".to_string(),
                r#"@rx ["'`]\\d\x5c"#.to_string(),
                r#"id:1,msg:'a "b"'"#.to_string()
            ]
        );
    }

    #[test]
    fn escaped_backslash_before_closing_quote() {
        let (_, args) = tokenize(r#"SecRule ARGS "@rx a\\" "id:1""#).unwrap();
        assert_eq!(args[1], r"@rx a\\");
        assert_eq!(args[2], "id:1");
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        assert!(tokenize(r#"SecRule ARGS "@rx a"#).is_err());
    }

    /// Parser-level check, independent of operator compilation: every CRS directive, target
    /// list and action list is read, and the counts match the inventory.
    #[test]
    fn crs_directives_targets_and_actions_parse() {
        use crate::action::ActionList;
        use crate::crs::crs_files;
        use crate::parser::actions::split_actions;
        use crate::variable::parse_targets;
        use meshward_testkit::locate::crs_dir;

        let dir = crs_dir();
        let rules_dir = dir.join("rules");
        let files = crs_files(&dir).unwrap_or_else(|e| panic!("{e}"));
        let mut directives = Vec::new();
        for f in files.iter().filter(|f| f.starts_with(&rules_dir)) {
            read_file(&Files::disk(), f, &mut directives).unwrap_or_else(|e| panic!("{e}"));
        }
        let (mut sec_rules, mut chains) = (0, 0);
        let mut ids = std::collections::HashSet::new();
        for d in &directives {
            let actions = match d.name.as_str() {
                "SecRule" => {
                    sec_rules += 1;
                    assert!(d.args.len() == 3 || d.args.len() == 2, "{}: {:?}", d.location, d.args);
                    parse_targets(&d.args[0]).unwrap_or_else(|e| panic!("{}: {e:?}", d.location));
                    d.args.get(2).cloned().unwrap_or_default()
                }
                "SecAction" => d.args[0].clone(),
                _ => continue,
            };
            let raw = split_actions(&actions).unwrap_or_else(|e| panic!("{}: {e}", d.location));
            let list = ActionList::parse(&raw).unwrap_or_else(|e| panic!("{}: {e:?}", d.location));
            if list.chain {
                chains += 1;
            }
            if let Some(id) = list.id {
                ids.insert(id);
            }
        }
        assert_eq!(sec_rules, 695);
        assert_eq!(ids.len(), 629);
        assert_eq!(chains, 73);
    }
}
