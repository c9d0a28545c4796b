//! The engine's internals the fuzz targets (`fuzz/` at the repository root) drive directly:
//! transformations and body processors, which are private to the crate otherwise. Only built
//! with the `fuzzing` feature, never into a filter.

use crate::body::{json, multipart, urlencoded, xml};
use crate::transform::Transform;

/// One `(name, value)` argument as a body processor produces it.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Every SecLang transformation name the engine accepts (aliases included).
pub fn transform_names() -> Vec<&'static str> {
    Transform::all_names().collect()
}

/// Applies the transformation named `name` to `input`; `None` for an unknown name.
pub fn transform(name: &str, input: &[u8]) -> Option<Vec<u8>> {
    Transform::from_name(name).map(|t| t.apply(input).into_owned())
}

/// The urlencoded processor: the arguments and whether a value held an invalid `%` escape.
pub fn urlencoded(input: &[u8], separator: u8) -> (Vec<Pair>, bool) {
    let out = urlencoded::parse_limited(input, separator, usize::MAX);
    (out.args, out.invalid_encoding)
}

/// What the JSON processor produced for one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonOutcome {
    /// Arguments in document order (ARGS_POST).
    pub args: Vec<Pair>,
    /// The parse error (REQBODY_ERROR_MSG), if any.
    pub error: Option<String>,
}

/// The JSON processor with ModSecurity's default depth limit.
pub fn json(body: &[u8]) -> JsonOutcome {
    let out = json::parse(body, &json::JsonConfig::default());
    JsonOutcome {
        args: out.args,
        error: out.error,
    }
}

/// What the multipart processor produced for one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartOutcome {
    /// Form fields (ARGS_POST), in order.
    pub args: Vec<Pair>,
    /// Uploaded files as `(field name, file name, content)`, in order.
    pub files: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// The parse error, if any.
    pub error: Option<String>,
    /// MULTIPART_STRICT_ERROR: a hard error or any strictness flag CRS rejects on.
    pub strict_error: bool,
}

/// The multipart processor, with the boundary taken from `content_type`.
pub fn multipart(content_type: &[u8], body: &[u8]) -> MultipartOutcome {
    let out = multipart::parse(content_type, body, &multipart::MultipartConfig::default());
    MultipartOutcome {
        strict_error: out.flags.strict_error(),
        args: out.args,
        files: out.files.into_iter().map(|f| (f.name, f.filename, f.content)).collect(),
        error: out.error,
    }
}

/// What the XML processor exposes to rules: the root element's text and every attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlOutcome {
    /// Text content of the root element (`XML:/*`).
    pub root_text: Vec<u8>,
    /// Every text node, in document order.
    pub text_nodes: Vec<Vec<u8>>,
    /// Every attribute as `(name, value)`, in document order.
    pub attributes: Vec<Pair>,
}

/// The XML processor; the error is REQBODY_ERROR_MSG.
pub fn xml(body: &[u8]) -> Result<XmlOutcome, String> {
    xml::parse(body)
        .map(|doc| XmlOutcome {
            root_text: doc.root_text,
            text_nodes: doc.text_nodes,
            attributes: doc.attributes,
        })
        .map_err(|e| e.to_string())
}
