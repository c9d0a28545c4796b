//! Rule targets: variables with selectors (`ARGS:foo`, `ARGS:/re/`), counting (`&`) and
//! exclusions (`!ARGS:foo`), parsed and compiled at load time.

use regex::bytes::{Regex, RegexBuilder};

macro_rules! variables {
    ($( $variant:ident = $name:literal, $collection:literal; )*) => {
        /// A SecLang variable (scalar or collection).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub(crate) enum Variable { $( $variant, )* }

        impl Variable {
            /// Looks a variable up by name, case-insensitively.
            pub(crate) fn from_name(name: &str) -> Option<Variable> {
                $( if name.eq_ignore_ascii_case($name) { return Some(Variable::$variant); } )*
                None
            }

            /// The canonical (upper-case) SecLang name.
            pub(crate) fn name(self) -> &'static str {
                match self { $( Variable::$variant => $name, )* }
            }

            /// True for variables holding named members (`ARGS`, `TX`...), which accept selectors.
            pub(crate) fn is_collection(self) -> bool {
                match self { $( Variable::$variant => $collection, )* }
            }
        }
    };
}

variables! {
    Args = "ARGS", true;
    ArgsGet = "ARGS_GET", true;
    ArgsPost = "ARGS_POST", true;
    ArgsNames = "ARGS_NAMES", true;
    ArgsGetNames = "ARGS_GET_NAMES", true;
    ArgsPostNames = "ARGS_POST_NAMES", true;
    ArgsCombinedSize = "ARGS_COMBINED_SIZE", false;
    RequestHeaders = "REQUEST_HEADERS", true;
    RequestHeadersNames = "REQUEST_HEADERS_NAMES", true;
    RequestCookies = "REQUEST_COOKIES", true;
    RequestCookiesNames = "REQUEST_COOKIES_NAMES", true;
    RequestFilename = "REQUEST_FILENAME", false;
    RequestBasename = "REQUEST_BASENAME", false;
    RequestUri = "REQUEST_URI", false;
    RequestUriRaw = "REQUEST_URI_RAW", false;
    RequestLine = "REQUEST_LINE", false;
    RequestMethod = "REQUEST_METHOD", false;
    RequestProtocol = "REQUEST_PROTOCOL", false;
    QueryString = "QUERY_STRING", false;
    RequestBody = "REQUEST_BODY", false;
    RequestBodyLength = "REQUEST_BODY_LENGTH", false;
    FullRequest = "FULL_REQUEST", false;
    FullRequestLength = "FULL_REQUEST_LENGTH", false;
    Files = "FILES", true;
    FilesNames = "FILES_NAMES", true;
    FilesSizes = "FILES_SIZES", true;
    FilesTmpNames = "FILES_TMPNAMES", true;
    FilesTmpContent = "FILES_TMP_CONTENT", true;
    FilesCombinedSize = "FILES_COMBINED_SIZE", false;
    MultipartPartHeaders = "MULTIPART_PART_HEADERS", true;
    MultipartBoundaryQuoted = "MULTIPART_BOUNDARY_QUOTED", false;
    MultipartBoundaryWhitespace = "MULTIPART_BOUNDARY_WHITESPACE", false;
    MultipartCrlfLfLines = "MULTIPART_CRLF_LF_LINES", false;
    MultipartDataAfter = "MULTIPART_DATA_AFTER", false;
    MultipartDataBefore = "MULTIPART_DATA_BEFORE", false;
    MultipartFileLimitExceeded = "MULTIPART_FILE_LIMIT_EXCEEDED", false;
    MultipartFilename = "MULTIPART_FILENAME", false;
    MultipartHeaderFolding = "MULTIPART_HEADER_FOLDING", false;
    MultipartInvalidHeaderFolding = "MULTIPART_INVALID_HEADER_FOLDING", false;
    MultipartInvalidPart = "MULTIPART_INVALID_PART", false;
    MultipartInvalidQuoting = "MULTIPART_INVALID_QUOTING", false;
    MultipartLfLine = "MULTIPART_LF_LINE", false;
    MultipartMissingSemicolon = "MULTIPART_MISSING_SEMICOLON", false;
    MultipartName = "MULTIPART_NAME", false;
    MultipartStrictError = "MULTIPART_STRICT_ERROR", false;
    MultipartUnmatchedBoundary = "MULTIPART_UNMATCHED_BOUNDARY", false;
    ReqbodyError = "REQBODY_ERROR", false;
    ReqbodyErrorMsg = "REQBODY_ERROR_MSG", false;
    ReqbodyProcessor = "REQBODY_PROCESSOR", false;
    ReqbodyProcessorError = "REQBODY_PROCESSOR_ERROR", false;
    ReqbodyProcessorErrorMsg = "REQBODY_PROCESSOR_ERROR_MSG", false;
    Xml = "XML", true;
    ResponseStatus = "RESPONSE_STATUS", false;
    ResponseHeaders = "RESPONSE_HEADERS", true;
    ResponseHeadersNames = "RESPONSE_HEADERS_NAMES", true;
    ResponseBody = "RESPONSE_BODY", false;
    ResponseContentType = "RESPONSE_CONTENT_TYPE", false;
    ResponseContentLength = "RESPONSE_CONTENT_LENGTH", false;
    ResponseProtocol = "RESPONSE_PROTOCOL", false;
    StatusLine = "STATUS_LINE", false;
    Tx = "TX", true;
    Ip = "IP", true;
    Global = "GLOBAL", true;
    Session = "SESSION", true;
    User = "USER", true;
    Resource = "RESOURCE", true;
    Env = "ENV", true;
    Rule = "RULE", true;
    MatchedVar = "MATCHED_VAR", false;
    MatchedVarName = "MATCHED_VAR_NAME", false;
    MatchedVars = "MATCHED_VARS", true;
    MatchedVarsNames = "MATCHED_VARS_NAMES", true;
    UniqueId = "UNIQUE_ID", false;
    RemoteAddr = "REMOTE_ADDR", false;
    RemotePort = "REMOTE_PORT", false;
    RemoteHost = "REMOTE_HOST", false;
    RemoteUser = "REMOTE_USER", false;
    ServerAddr = "SERVER_ADDR", false;
    ServerPort = "SERVER_PORT", false;
    ServerName = "SERVER_NAME", false;
    Duration = "DURATION", false;
    Time = "TIME", false;
    TimeDay = "TIME_DAY", false;
    TimeEpoch = "TIME_EPOCH", false;
    TimeHour = "TIME_HOUR", false;
    TimeMin = "TIME_MIN", false;
    TimeMon = "TIME_MON", false;
    TimeSec = "TIME_SEC", false;
    TimeWday = "TIME_WDAY", false;
    TimeYear = "TIME_YEAR", false;
    HighestSeverity = "HIGHEST_SEVERITY", false;
    AuthType = "AUTH_TYPE", false;
    InboundDataError = "INBOUND_DATA_ERROR", false;
    OutboundDataError = "OUTBOUND_DATA_ERROR", false;
    UrlencodedError = "URLENCODED_ERROR", false;
    WebserverErrorLog = "WEBSERVER_ERROR_LOG", false;
    PathInfo = "PATH_INFO", false;
    SessionId = "SESSIONID", false;
    UserId = "USERID", false;
    MscPcreLimitsExceeded = "MSC_PCRE_LIMITS_EXCEEDED", false;
}

/// Which members of a collection a target reads.
#[derive(Debug, Clone)]
pub(crate) enum Selector {
    /// Every member (`ARGS`).
    All,
    /// The members with this key, compared case-insensitively (`ARGS:foo`); stored lower-case.
    Key(String),
    /// The members whose key matches (`ARGS:/^id_/`), case-insensitively.
    Regex(Regex),
    /// An XPath expression (`XML:/*`).
    XPath(String),
}

impl Selector {
    /// True when `key` is selected.
    pub(crate) fn selects(&self, key: &[u8]) -> bool {
        match self {
            Selector::All => true,
            Selector::Key(k) => k.as_bytes().eq_ignore_ascii_case(key),
            Selector::Regex(re) => re.is_match(key),
            Selector::XPath(_) => true,
        }
    }

    /// True when two selectors are the same as written (for exclusion bookkeeping).
    pub(crate) fn same_as(&self, other: &Selector) -> bool {
        match (self, other) {
            (Selector::All, Selector::All) => true,
            (Selector::Key(a), Selector::Key(b)) => a == b,
            (Selector::Regex(a), Selector::Regex(b)) => a.as_str() == b.as_str(),
            (Selector::XPath(a), Selector::XPath(b)) => a == b,
            _ => false,
        }
    }
}

/// One variable a rule inspects.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The variable.
    pub(crate) variable: Variable,
    /// Which members.
    pub(crate) selector: Selector,
    /// `&VAR`: the rule tests the number of selected members instead of their values.
    pub(crate) count: bool,
}

/// A `!VAR:key` exclusion: members removed from the rule's targets of the same variable.
#[derive(Debug, Clone)]
pub(crate) struct Exclusion {
    /// The variable.
    pub(crate) variable: Variable,
    /// Which members to remove (`All` removes the whole variable).
    pub(crate) selector: Selector,
}

impl Exclusion {
    /// True when this exclusion removes `key` of `variable`.
    pub(crate) fn excludes(&self, variable: Variable, key: &[u8]) -> bool {
        self.variable == variable && self.selector.selects(key)
    }
}

/// The parsed target list of a rule.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    /// Variables read, in order.
    pub(crate) targets: Vec<Target>,
    /// Members excluded from them.
    pub(crate) exclusions: Vec<Exclusion>,
}

/// Parses a `|`-separated target list (`ARGS|!ARGS:foo|&TX:x|REQUEST_COOKIES:/re|x/`).
pub(crate) fn parse_targets(text: &str) -> Result<Targets, (String, String)> {
    let mut out = Targets::default();
    for item in split_targets(text)? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (negate, count, rest) = match item.as_bytes()[0] {
            b'!' => (true, false, &item[1..]),
            b'&' => (false, true, &item[1..]),
            _ => (false, false, item),
        };
        let (name, selector_text) = match rest.find(':') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let variable =
            Variable::from_name(name.trim()).ok_or_else(|| (item.to_string(), "unknown variable".to_string()))?;
        let selector = match selector_text {
            None => Selector::All,
            Some(sel) => {
                if !variable.is_collection() {
                    return Err((item.to_string(), format!("{} takes no selector", variable.name())));
                }
                parse_selector(variable, sel).map_err(|r| (item.to_string(), r))?
            }
        };
        if negate {
            out.exclusions.push(Exclusion { variable, selector });
        } else {
            out.targets.push(Target {
                variable,
                selector,
                count,
            });
        }
    }
    Ok(out)
}

/// Parses the text after `VAR:` into a selector.
pub(crate) fn parse_selector(variable: Variable, sel: &str) -> Result<Selector, String> {
    let sel = sel.trim();
    let sel = if sel.len() >= 2 && sel.starts_with('\'') && sel.ends_with('\'') {
        &sel[1..sel.len() - 1]
    } else {
        sel
    };
    if variable == Variable::Xml {
        // The XML processor answers the XPath forms CRS uses; others are refused at load
        // rather than silently matching nothing.
        return match sel {
            "/*" | "//@*" => Ok(Selector::XPath(sel.to_string())),
            _ => Err(format!("XPath expression `{sel}` is not supported (only /* and //@*)")),
        };
    }
    if sel.len() >= 2 && sel.starts_with('/') && sel.ends_with('/') {
        let pattern = &sel[1..sel.len() - 1];
        let re = RegexBuilder::new(pattern)
            .case_insensitive(true)
            .unicode(false)
            .build()
            .map_err(|e| format!("invalid selector regex: {e}"))?;
        return Ok(Selector::Regex(re));
    }
    if sel.is_empty() {
        return Err("empty selector".into());
    }
    Ok(Selector::Key(sel.to_ascii_lowercase()))
}

/// Splits on `|` that are not inside a `/regex/` or quoted selector.
fn split_targets(text: &str) -> Result<Vec<&str>, (String, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && matches!(bytes[i], b'!' | b'&' | b' ' | b'\t') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let name = &text[name_start..i];
        if bytes.get(i) == Some(&b':') {
            i += 1;
            match bytes.get(i) {
                Some(b'\'') => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    if i >= bytes.len() {
                        return Err((text.to_string(), "unterminated quoted selector".into()));
                    }
                    i += 1;
                }
                Some(b'/') if !name.eq_ignore_ascii_case("XML") => {
                    // A regex selector runs to the `/` that ends the target; `|` inside it
                    // is alternation.
                    i += 1;
                    loop {
                        if i >= bytes.len() {
                            return Err((text.to_string(), "unterminated regex selector".into()));
                        }
                        if bytes[i] == b'\\' {
                            i += 2;
                            continue;
                        }
                        if bytes[i] == b'/' && matches!(bytes.get(i + 1), None | Some(b'|')) {
                            i += 1;
                            break;
                        }
                        i += 1;
                    }
                }
                _ => {
                    while i < bytes.len() && bytes[i] != b'|' {
                        i += 1;
                    }
                }
            }
        }
        while i < bytes.len() && bytes[i] != b'|' {
            i += 1;
        }
        out.push(&text[start..i.min(bytes.len())]);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_selectors_counts_and_exclusions() {
        let t =
            parse_targets("ARGS|!ARGS:Foo|&TX:x|REQUEST_COOKIES:/^a|b$/|XML:/*|REQUEST_HEADERS:User-Agent").unwrap();
        assert_eq!(t.targets.len(), 5);
        assert_eq!(t.exclusions.len(), 1);
        assert!(matches!(&t.exclusions[0].selector, Selector::Key(k) if k == "foo"));
        assert!(t.targets[1].count);
        match &t.targets[2].selector {
            Selector::Regex(re) => {
                assert!(re.is_match(b"A"));
                assert!(re.is_match(b"b"));
                assert!(!re.is_match(b"xa"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&t.targets[3].selector, Selector::XPath(x) if x == "/*"));
        assert!(t.targets[4].selector.selects(b"user-agent"));
    }

    #[test]
    fn unknown_variable_and_selector_on_scalar_fail() {
        assert!(parse_targets("ARGZ").is_err());
        assert!(parse_targets("REQUEST_URI:foo").is_err());
        assert!(parse_targets("XML://book/title").is_err());
        assert!(parse_targets("XML://@*").is_ok());
    }

    #[test]
    fn regex_selector_with_slash_inside() {
        let t = parse_targets("!REQUEST_COOKIES:/^_ga(?:_\\w+)?$/|ARGS").unwrap();
        assert_eq!(t.exclusions.len(), 1);
        assert_eq!(t.targets.len(), 1);
    }
}
