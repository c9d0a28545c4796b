//! Values of variables, produced on demand when a rule (or a macro) reads them.

use std::borrow::Cow;

use crate::action::{BodyProcessor, SEVERITIES};
use crate::clock;
use crate::collection::Collection;
use crate::macros::{MacroResolver, MacroString};
use crate::rule::Rule;
use crate::transform::Transform;
use crate::variable::{Selector, Variable};

use super::state::Transaction;

/// Receives one value: its key within the collection (None for scalars) and the bytes.
pub(crate) type Sink<'s> = dyn FnMut(Option<&[u8]>, &[u8]) + 's;

fn bool_flag(b: bool) -> &'static [u8] {
    if b {
        b"1"
    } else {
        b"0"
    }
}

impl Transaction {
    /// Calls `sink` for every value of `variable` selected by `selector` that `keep` accepts.
    pub(crate) fn visit(
        &self,
        variable: Variable,
        selector: &Selector,
        rule: Option<&Rule>,
        keep: &dyn Fn(&[u8]) -> bool,
        sink: &mut Sink<'_>,
    ) {
        use Variable as V;
        let coll = |c: &Collection, sink: &mut Sink<'_>| visit_collection(c, selector, keep, sink, false);
        let names = |c: &Collection, sink: &mut Sink<'_>| visit_collection(c, selector, keep, sink, true);
        let scalar = |v: &[u8], sink: &mut Sink<'_>| sink(None, v);
        match variable {
            V::Args => {
                coll(&self.args_get, sink);
                coll(&self.body.args_post, sink);
            }
            V::ArgsGet => coll(&self.args_get, sink),
            V::ArgsPost => coll(&self.body.args_post, sink),
            V::ArgsNames => {
                names(&self.args_get, sink);
                names(&self.body.args_post, sink);
            }
            V::ArgsGetNames => names(&self.args_get, sink),
            V::ArgsPostNames => names(&self.body.args_post, sink),
            V::ArgsCombinedSize => {
                let total: usize = self
                    .args_get
                    .iter()
                    .chain(self.body.args_post.iter())
                    .map(|e| e.key.len() + e.value.len())
                    .sum();
                scalar(total.to_string().as_bytes(), sink);
            }
            V::RequestHeaders => coll(&self.request_headers, sink),
            V::RequestHeadersNames => names(&self.request_headers, sink),
            V::RequestCookies => coll(&self.request_cookies, sink),
            V::RequestCookiesNames => names(&self.request_cookies, sink),
            V::RequestFilename => scalar(&self.filename, sink),
            V::RequestBasename => scalar(&self.basename, sink),
            V::RequestUri => scalar(&self.request_uri, sink),
            V::RequestUriRaw => scalar(&self.uri_raw, sink),
            V::RequestLine => scalar(&self.request_line, sink),
            V::RequestMethod => scalar(&self.method, sink),
            V::RequestProtocol => scalar(&self.protocol, sink),
            V::QueryString => scalar(&self.query_string, sink),
            // Scalars always yield a value, empty when unset, as libmodsecurity v3's anchored
            // variables do (a negated operator can match an empty value).
            // REQUEST_BODY: for urlencoded, JSON and meshward's NDJSON/gRPC/protobuf bodies (the raw
            // bytes, as before they had a processor), bodies without a processor, or
            // when forced; not for XML and multipart. libmodsecurity v3 always sets it, which
            // CRS's tests list as a v3 deviation for XML (element names would reach body rules,
            // 944100-11), while they rely on it for JSON keys (934210-13).
            V::RequestBody => {
                let available = match self.body.processor {
                    None
                    | Some(
                        BodyProcessor::UrlEncoded
                        | BodyProcessor::Json
                        | BodyProcessor::Ndjson
                        | BodyProcessor::Grpc
                        | BodyProcessor::Protobuf,
                    ) => true,
                    Some(_) => self.overrides.force_request_body_variable,
                };
                scalar(if available { &self.request_body } else { b"" }, sink)
            }
            V::RequestBodyLength => {
                if self.request_body.is_empty() {
                    scalar(b"", sink)
                } else {
                    scalar(self.request_body.len().to_string().as_bytes(), sink)
                }
            }
            V::FullRequest => scalar(&self.full_request(), sink),
            V::FullRequestLength => scalar(self.full_request().len().to_string().as_bytes(), sink),
            V::Files | V::FilesNames | V::FilesSizes | V::FilesTmpNames | V::FilesTmpContent => {
                for file in &self.body.files {
                    let name = &file.name;
                    if !selector.selects(name) || !keep(name) {
                        continue;
                    }
                    match variable {
                        V::Files => {
                            sink(Some(name), &file.filename);
                            if let Some(star) = &file.filename_star {
                                sink(Some(name), star);
                            }
                        }
                        V::FilesNames => sink(Some(name), name),
                        V::FilesSizes => sink(Some(name), file.size.to_string().as_bytes()),
                        // Uploads stay in memory: the content itself, when it is text.
                        V::FilesTmpContent => {
                            if let Some(text) = &file.text {
                                sink(Some(name), text);
                            }
                        }
                        // Uploads are never written to disk.
                        _ => {}
                    }
                }
            }
            V::FilesCombinedSize => {
                let total: usize = self.body.files.iter().map(|f| f.size).sum();
                scalar(total.to_string().as_bytes(), sink);
            }
            V::MultipartPartHeaders => coll(&self.body.part_headers, sink),
            V::MultipartName => {
                for n in &self.body.multipart_names {
                    sink(None, n);
                }
            }
            V::MultipartFilename => {
                for n in &self.body.multipart_filenames {
                    sink(None, n);
                }
            }
            V::MultipartBoundaryQuoted
            | V::MultipartBoundaryWhitespace
            | V::MultipartCrlfLfLines
            | V::MultipartDataAfter
            | V::MultipartDataBefore
            | V::MultipartFileLimitExceeded
            | V::MultipartHeaderFolding
            | V::MultipartInvalidHeaderFolding
            | V::MultipartInvalidPart
            | V::MultipartInvalidQuoting
            | V::MultipartLfLine
            | V::MultipartMissingSemicolon
            | V::MultipartStrictError
            | V::MultipartUnmatchedBoundary => {
                // The flags are empty until the multipart processor ran.
                let Some(f) = &self.body.multipart_flags else {
                    scalar(b"", sink);
                    return;
                };
                {
                    let v: Cow<'_, [u8]> = match variable {
                        V::MultipartBoundaryQuoted => bool_flag(f.boundary_quoted).into(),
                        V::MultipartBoundaryWhitespace => bool_flag(f.boundary_whitespace).into(),
                        V::MultipartCrlfLfLines => bool_flag(f.crlf_lf_lines()).into(),
                        V::MultipartDataAfter => bool_flag(f.data_after).into(),
                        V::MultipartDataBefore => bool_flag(f.data_before).into(),
                        V::MultipartFileLimitExceeded => bool_flag(f.file_limit_exceeded).into(),
                        V::MultipartHeaderFolding => bool_flag(f.header_folding).into(),
                        V::MultipartInvalidHeaderFolding => bool_flag(f.invalid_header_folding).into(),
                        V::MultipartInvalidPart => bool_flag(f.invalid_part).into(),
                        V::MultipartInvalidQuoting => bool_flag(f.invalid_quoting).into(),
                        V::MultipartLfLine => bool_flag(f.lf_line).into(),
                        V::MultipartMissingSemicolon => bool_flag(f.missing_semicolon).into(),
                        V::MultipartStrictError => bool_flag(f.strict_error()).into(),
                        _ => f.unmatched_boundary.to_string().into_bytes().into(),
                    };
                    sink(None, &v);
                }
            }
            V::ReqbodyError | V::ReqbodyProcessorError => scalar(bool_flag(self.body.error.is_some()), sink),
            V::ReqbodyErrorMsg | V::ReqbodyProcessorErrorMsg => {
                scalar(self.body.error.as_deref().unwrap_or("").as_bytes(), sink)
            }
            V::ReqbodyProcessor => scalar(
                self.effective_body_processor().map_or("", |p| p.name()).as_bytes(),
                sink,
            ),
            V::Xml => {
                if let Some(doc) = &self.body.xml {
                    let expr = match selector {
                        Selector::XPath(x) => x.as_str(),
                        _ => "/*",
                    };
                    for v in doc.xpath(expr).unwrap_or_default() {
                        sink(None, v);
                    }
                }
            }
            V::ResponseStatus => {
                if self.response_status == 0 {
                    scalar(b"", sink)
                } else {
                    scalar(self.response_status.to_string().as_bytes(), sink)
                }
            }
            V::ResponseHeaders => coll(&self.response_headers, sink),
            V::ResponseHeadersNames => names(&self.response_headers, sink),
            V::ResponseBody => scalar(&self.response_body, sink),
            V::ResponseContentType => scalar(self.response_headers.get(b"content-type").unwrap_or(b""), sink),
            V::ResponseContentLength => scalar(self.response_headers.get(b"content-length").unwrap_or(b""), sink),
            V::ResponseProtocol => scalar(&self.response_protocol, sink),
            V::StatusLine => {
                if self.response_status == 0 {
                    scalar(b"", sink)
                } else {
                    let line = format!(
                        "{} {}",
                        String::from_utf8_lossy(&self.response_protocol),
                        self.response_status
                    );
                    scalar(line.as_bytes(), sink)
                }
            }
            V::Tx => coll(&self.tx, sink),
            V::Ip | V::Global | V::Session | V::User | V::Resource => {
                if let Some(b) = self.persistent.get(&variable.name().to_ascii_lowercase()) {
                    coll(&b.record.values, sink)
                }
            }
            V::Env => {
                if let Selector::Key(k) = selector {
                    if self.env.get(k.as_bytes()).is_none() {
                        if let Ok(v) = std::env::var(k.to_ascii_uppercase()).or_else(|_| std::env::var(k)) {
                            if keep(k.as_bytes()) {
                                sink(Some(k.as_bytes()), v.as_bytes());
                            }
                            return;
                        }
                    }
                }
                coll(&self.env, sink)
            }
            V::Rule => {
                if let Some(r) = rule {
                    for (key, value) in rule_fields(r) {
                        if selector.selects(key.as_bytes()) && keep(key.as_bytes()) {
                            sink(Some(key.as_bytes()), value.as_bytes());
                        }
                    }
                }
            }
            V::MatchedVar => scalar(self.matched_vars.last().map_or(&b""[..], |m| &m.1), sink),
            V::MatchedVarName => scalar(self.matched_vars.last().map_or(&b""[..], |m| m.0.as_bytes()), sink),
            V::MatchedVars | V::MatchedVarsNames => {
                for (name, value) in &self.matched_vars {
                    if selector.selects(name.as_bytes()) && keep(name.as_bytes()) {
                        let v = if variable == V::MatchedVars {
                            value.as_slice()
                        } else {
                            name.as_bytes()
                        };
                        sink(Some(name.as_bytes()), v);
                    }
                }
            }
            V::UniqueId => scalar(self.unique_id.as_bytes(), sink),
            V::RemoteAddr => scalar(self.remote_addr.as_bytes(), sink),
            V::RemotePort => scalar(self.remote_port.to_string().as_bytes(), sink),
            V::RemoteHost => scalar(self.remote_addr.as_bytes(), sink),
            V::RemoteUser => scalar(&self.remote_user(), sink),
            V::ServerAddr => scalar(self.server_addr.as_bytes(), sink),
            V::ServerPort => scalar(self.server_port.to_string().as_bytes(), sink),
            V::ServerName => {
                let host = self.request_headers.get(b"host").unwrap_or(b"");
                scalar(strip_port(host), sink)
            }
            V::Duration => scalar(
                clock::now()
                    .saturating_sub(self.started)
                    .as_millis()
                    .to_string()
                    .as_bytes(),
                sink,
            ),
            V::Time
            | V::TimeDay
            | V::TimeEpoch
            | V::TimeHour
            | V::TimeMin
            | V::TimeMon
            | V::TimeSec
            | V::TimeWday
            | V::TimeYear => {
                let now = clock::now_unix();
                let t = clock::civil(now);
                let v = match variable {
                    V::Time => format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
                    V::TimeDay => t.day.to_string(),
                    V::TimeEpoch => now.to_string(),
                    V::TimeHour => t.hour.to_string(),
                    V::TimeMin => t.minute.to_string(),
                    V::TimeMon => t.month.to_string(),
                    V::TimeSec => t.second.to_string(),
                    V::TimeWday => t.weekday.to_string(),
                    _ => t.year.to_string(),
                };
                scalar(v.as_bytes(), sink)
            }
            V::HighestSeverity => scalar(self.highest_severity.to_string().as_bytes(), sink),
            V::AuthType => {
                let auth = self.request_headers.get(b"authorization").unwrap_or(b"");
                scalar(auth.split(|&b| b == b' ').next().unwrap_or(b""), sink)
            }
            V::InboundDataError => scalar(bool_flag(self.inbound_data_error), sink),
            V::OutboundDataError => scalar(bool_flag(self.outbound_data_error), sink),
            V::UrlencodedError => scalar(bool_flag(self.urlencoded_error), sink),
            // The proxy's error log is not visible to the filter.
            V::WebserverErrorLog => {}
            V::PathInfo => scalar(&self.filename, sink),
            V::SessionId => scalar(self.persistent.get("session").map_or(&b""[..], |b| &b.key), sink),
            V::UserId => scalar(self.persistent.get("user").map_or(&b""[..], |b| &b.key), sink),
            V::MscPcreLimitsExceeded => scalar(b"0", sink),
        }
    }

    fn full_request(&self) -> Vec<u8> {
        let mut out = self.request_line.clone();
        out.extend_from_slice(b"\r\n");
        for e in self.request_headers.iter() {
            out.extend_from_slice(&e.key);
            out.extend_from_slice(b": ");
            out.extend_from_slice(&e.value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.request_body);
        out
    }

    fn remote_user(&self) -> Vec<u8> {
        let Some(auth) = self.request_headers.get(b"authorization") else {
            return Vec::new();
        };
        let mut parts = auth.splitn(2, |&b| b == b' ');
        let scheme = parts.next().unwrap_or(b"");
        let cred = parts.next().unwrap_or(b"");
        if !scheme.eq_ignore_ascii_case(b"basic") {
            return Vec::new();
        }
        let decoded = Transform::Base64Decode.apply(cred.trim_ascii()).into_owned();
        decoded.split(|&b| b == b':').next().unwrap_or(b"").to_vec()
    }
}

fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        // [v6]:port
        return match host.iter().position(|&b| b == b']') {
            Some(p) => &host[..=p],
            None => host,
        };
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(p) => &host[..p],
        None => host,
    }
}

fn visit_collection(
    c: &Collection,
    selector: &Selector,
    keep: &dyn Fn(&[u8]) -> bool,
    sink: &mut Sink<'_>,
    names: bool,
) {
    let mut emit = |k: &[u8], v: &[u8]| {
        if keep(k) {
            sink(Some(k), if names { k } else { v });
        }
    };
    match selector {
        Selector::Key(k) => {
            for e in c.get_all_lower(k.as_bytes()) {
                emit(&e.key, &e.value);
            }
        }
        Selector::All | Selector::XPath(_) => {
            for e in c.iter() {
                emit(&e.key, &e.value);
            }
        }
        Selector::Regex(re) => {
            for e in c.iter() {
                if re.is_match(&e.key) {
                    emit(&e.key, &e.value);
                }
            }
        }
    }
}

/// The RULE collection of a rule: id, msg, severity, tags...
fn rule_fields(r: &Rule) -> Vec<(&'static str, String)> {
    let mut out = vec![("id", r.id.to_string()), ("phase", r.phase.number().to_string())];
    if let Some(m) = &r.actions.msg {
        out.push(("msg", literal(m)));
    }
    if let Some(s) = r.actions.severity {
        out.push(("severity", s.to_string()));
        if let Some(name) = SEVERITIES.get(usize::from(s)) {
            out.push(("severity_name", (*name).to_string()));
        }
    }
    if let Some(v) = &r.actions.ver {
        out.push(("ver", v.clone()));
    }
    if let Some(v) = &r.actions.rev {
        out.push(("rev", v.clone()));
    }
    if let Some(v) = r.actions.maturity {
        out.push(("maturity", v.to_string()));
    }
    if let Some(v) = r.actions.accuracy {
        out.push(("accuracy", v.to_string()));
    }
    if let Some(v) = &r.actions.logdata {
        out.push(("logdata", literal(v)));
    }
    for t in &r.actions.tags {
        out.push(("tag", t.clone()));
    }
    out
}

/// The text of a macro string with macros left unexpanded.
fn literal(m: &MacroString) -> String {
    String::from_utf8_lossy(&m.expand(&Unexpanded)).into_owned()
}

struct Unexpanded;

impl MacroResolver for Unexpanded {
    fn resolve(&self, reference: &str) -> Option<Vec<u8>> {
        Some(format!("%{{{reference}}}").into_bytes())
    }
}
