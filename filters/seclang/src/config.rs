//! Engine-wide settings set by directives (`SecRuleEngine`, body limits, separators...).

use crate::action::EngineMode;

/// What happens when a body exceeds its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitAction {
    /// Refuse the transaction (413 for requests, 500 for responses) when the engine is On.
    Reject,
    /// Inspect the part within the limit and let the rest through.
    ProcessPartial,
}

impl LimitAction {
    fn parse(s: &str) -> Option<LimitAction> {
        match s.trim().to_ascii_lowercase().as_str() {
            "reject" => Some(LimitAction::Reject),
            "processpartial" => Some(LimitAction::ProcessPartial),
            _ => None,
        }
    }
}

/// Engine configuration; defaults are ModSecurity v3's except where noted.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `SecRuleEngine`. Default DetectionOnly: ModSecurity v3 runs rules without enforcing
    /// when the directive is absent, and meshward filters default to detect-only.
    pub rule_engine: EngineMode,
    /// `SecRequestBodyAccess` (default Off).
    pub request_body_access: bool,
    /// `SecResponseBodyAccess` (default Off).
    pub response_body_access: bool,
    /// `SecRequestBodyLimit` in bytes (default 13107200).
    pub request_body_limit: u64,
    /// `SecRequestBodyNoFilesLimit` in bytes (default 1048576).
    pub request_body_no_files_limit: u64,
    /// `SecRequestBodyLimitAction` (default Reject).
    pub request_body_limit_action: LimitAction,
    /// `SecResponseBodyMimeType` list (default text/plain text/html).
    pub response_body_mime_types: Vec<String>,
    /// `SecResponseBodyLimit` in bytes (default 524288).
    pub response_body_limit: u64,
    /// `SecResponseBodyLimitAction` (default ProcessPartial).
    pub response_body_limit_action: LimitAction,
    /// `SecArgumentSeparator` (default `&`).
    pub argument_separator: u8,
    /// `SecCollectionTimeout` in seconds (default 3600).
    pub collection_timeout: u64,
    /// `SecArgumentsLimit`: most arguments kept per source (default: no limit, as ModSecurity).
    pub arguments_limit: Option<usize>,
    /// `SecRequestBodyJsonDepthLimit` (default 10000).
    pub json_depth_limit: usize,
    /// `SecUploadFileLimit` (default 100).
    pub upload_file_limit: usize,
    /// `SecComponentSignature` values.
    pub component_signatures: Vec<String>,
    /// `SecWebAppId` (default `default`).
    pub web_app_id: String,
    /// True once a SecResponseBodyMimeType directive replaced the default MIME types.
    mime_types_configured: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            rule_engine: EngineMode::DetectionOnly,
            request_body_access: false,
            response_body_access: false,
            request_body_limit: 13_107_200,
            request_body_no_files_limit: 1_048_576,
            request_body_limit_action: LimitAction::Reject,
            response_body_mime_types: vec!["text/plain".into(), "text/html".into()],
            response_body_limit: 524_288,
            response_body_limit_action: LimitAction::ProcessPartial,
            argument_separator: b'&',
            collection_timeout: 3600,
            arguments_limit: None,
            json_depth_limit: 10_000,
            upload_file_limit: 100,
            component_signatures: Vec::new(),
            web_app_id: "default".into(),
            mime_types_configured: false,
        }
    }
}

/// Outcome of applying a configuration directive.
pub(crate) enum Applied {
    /// The directive set a value.
    Set,
    /// The directive is not a configuration directive.
    NotConfig,
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected On or Off, got `{v}`")),
    }
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.trim()
        .parse::<T>()
        .map_err(|_| format!("expected a number, got `{v}`"))
}

impl EngineConfig {
    /// Applies configuration directive `name` with `args`; errors are reasons.
    pub(crate) fn apply(&mut self, name: &str, args: &[String]) -> Result<Applied, String> {
        let lower = name.to_ascii_lowercase();
        let one = || -> Result<&str, String> {
            match args {
                [a] => Ok(a.as_str()),
                _ => Err(format!("{name} takes exactly one argument")),
            }
        };
        match lower.as_str() {
            "secruleengine" => {
                self.rule_engine = EngineMode::parse(one()?).ok_or("expected On, Off or DetectionOnly")?;
            }
            "secrequestbodyaccess" => self.request_body_access = on_off(one()?)?,
            "secresponsebodyaccess" => self.response_body_access = on_off(one()?)?,
            "secrequestbodylimit" => self.request_body_limit = number(one()?)?,
            "secrequestbodynofileslimit" => self.request_body_no_files_limit = number(one()?)?,
            "secrequestbodylimitaction" => {
                self.request_body_limit_action =
                    LimitAction::parse(one()?).ok_or("expected Reject or ProcessPartial")?;
            }
            "secresponsebodylimit" => self.response_body_limit = number(one()?)?,
            "secresponsebodylimitaction" => {
                self.response_body_limit_action =
                    LimitAction::parse(one()?).ok_or("expected Reject or ProcessPartial")?;
            }
            "secresponsebodymimetype" => {
                if args.is_empty() {
                    return Err("needs at least one MIME type".into());
                }
                // The first directive replaces the built-in defaults; later ones add.
                if !self.mime_types_configured {
                    self.response_body_mime_types.clear();
                    self.mime_types_configured = true;
                }
                for a in args {
                    for t in a.split_whitespace() {
                        let t = t.to_ascii_lowercase();
                        if !self.response_body_mime_types.contains(&t) {
                            self.response_body_mime_types.push(t);
                        }
                    }
                }
            }
            "secresponsebodymimetypesclear" => {
                self.response_body_mime_types.clear();
                self.mime_types_configured = true;
            }
            "secargumentseparator" => {
                let v = one()?;
                match v.as_bytes() {
                    [b] => self.argument_separator = *b,
                    _ => return Err("the separator must be one character".into()),
                }
            }
            "seccollectiontimeout" => self.collection_timeout = number(one()?)?,
            "secargumentslimit" => self.arguments_limit = Some(number(one()?)?),
            "secrequestbodyjsondepthlimit" => self.json_depth_limit = number(one()?)?,
            "secuploadfilelimit" => self.upload_file_limit = number(one()?)?,
            "seccomponentsignature" => self.component_signatures.push(one()?.to_string()),
            "secwebappid" => self.web_app_id = one()?.to_string(),
            _ => return Ok(Applied::NotConfig),
        }
        Ok(Applied::Set)
    }
}

/// Directives accepted but without effect in a proxy filter, with the reason reported.
pub(crate) fn ignored_reason(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let reason = match lower.as_str() {
        "secauditengine"
        | "secauditlog"
        | "secauditlog2"
        | "secauditlogdirmode"
        | "secauditlogfilemode"
        | "secauditlogformat"
        | "secauditlogparts"
        | "secauditlogrelevantstatus"
        | "secauditlogstoragedir"
        | "secauditlogtype" => "audit logging is done by the embedding filter from the match evidence",
        "secdebuglog" | "secdebugloglevel" => "debug logging is not written to files in a proxy filter",
        "secdatadir"
        | "sectmpdir"
        | "secuploaddir"
        | "secuploadfilemode"
        | "secuploadkeepfiles"
        | "sectmpsaveuploadedfiles" => "no file system storage in a proxy filter: bodies stay in memory",
        "secrequestbodyinmemorylimit" => "bodies are always held in memory up to the body limits",
        "secpcrematchlimit" | "secpcrematchlimitrecursion" => {
            "regexes run on a linear-time engine without backtracking limits"
        }
        "secunicodemapfile" | "secunicodecodepage" => "utf8toUnicode / urlDecodeUni use the built-in Unicode mapping",
        "secserversignature" => "the proxy owns the Server header",
        "secstatusengine" => "no status reporting",
        "secconnengine" | "secconnreadstatelimit" | "secconnwritestatelimit" => "connection limits belong to the proxy",
        "secgeolookupdb" | "secgsblookupdb" | "sechttpblkey" => "no lookup databases",
        "seccookieformat" | "seccookiev0separator" => "cookies are parsed as version 0 with `;` separators",
        "secxmlexternalentity" => "external XML entities are never loaded",
        "secinterceptonerror" => "internal errors never intercept",
        "secchrootdir"
        | "seccontentinjection"
        | "secstreaminbodyinspection"
        | "secstreamoutbodyinspection"
        | "secdisablebackendcompression"
        | "secguardianlog"
        | "sechashengine"
        | "sechashkey"
        | "sechashparam"
        | "sechashmethodrx"
        | "sechashmethodpm"
        | "secsensorid"
        | "secruleperftime"
        | "secreadstatelimit"
        | "secwritestatelimit"
        | "seccachetransformations" => "not applicable to a proxy filter",
        _ => return None,
    };
    Some(reason)
}
