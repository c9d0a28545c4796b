//! XML request bodies, parsed with roxmltree (no external entities, no network), reduced to
//! what the XPath forms CRS uses need: `XML:/*` and `XML://@*`.
//!
//! ModSecurity evaluates `XML:/*` with libxml2 as the text content of the root element (all
//! descendant text and CDATA joined, one value) and `XML://@*` as one value per attribute.

use thiserror::Error;

/// Why an XML body could not be parsed (REQBODY_ERROR).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum XmlError {
    /// The body is not well-formed XML.
    #[error("XML parsing error: {0}")]
    Malformed(String),
    /// The body is neither UTF-8 nor in an encoding its declaration names that we read.
    #[error("XML parsing error: unsupported encoding {0}")]
    Encoding(String),
}

/// The parts of a parsed XML document that rules can address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct XmlDocument {
    /// Text content of the root element (`XML:/*`).
    pub(crate) root_text: Vec<u8>,
    /// Every text node (including CDATA), in document order.
    pub(crate) text_nodes: Vec<Vec<u8>>,
    /// Every attribute as `(name, value)`, in document order (`XML://@*` gives the values).
    pub(crate) attributes: Vec<(Vec<u8>, Vec<u8>)>,
}

impl XmlDocument {
    /// Values of one of the XPath expressions CRS uses, or `None` for any other expression.
    pub(crate) fn xpath(&self, expression: &str) -> Option<Vec<&[u8]>> {
        match expression.trim() {
            "/*" => Some(vec![self.root_text.as_slice()]),
            "//@*" => Some(self.attributes.iter().map(|(_, v)| v.as_slice()).collect()),
            _ => None,
        }
    }
}

/// Most nodes accepted in one document, bounding memory on hostile input.
const NODES_LIMIT: u32 = 1_000_000;

/// Parses `body` as an XML document.
pub(crate) fn parse(body: &[u8]) -> Result<XmlDocument, XmlError> {
    let text = decode(body)?;
    // No entity resolver: external entities are never loaded.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        nodes_limit: NODES_LIMIT,
        ..Default::default()
    };
    let doc =
        roxmltree::Document::parse_with_options(&text, options).map_err(|e| XmlError::Malformed(e.to_string()))?;
    let mut out = XmlDocument::default();
    for node in doc.root_element().descendants() {
        if node.is_text() {
            let t = node.text().unwrap_or_default().as_bytes();
            out.root_text.extend_from_slice(t);
            out.text_nodes.push(t.to_vec());
        } else if node.is_element() {
            for attribute in node.attributes() {
                out.attributes.push((
                    attribute.name().as_bytes().to_vec(),
                    attribute.value().as_bytes().to_vec(),
                ));
            }
        }
    }
    Ok(out)
}

/// Returns the body as text: UTF-8, or ISO-8859-1/ASCII when the declaration says so.
fn decode(body: &[u8]) -> Result<std::borrow::Cow<'_, str>, XmlError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let declared = declared_encoding(body);
    match declared.as_deref() {
        None | Some("utf-8") | Some("utf8") => std::str::from_utf8(body)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|e| XmlError::Malformed(format!("invalid UTF-8: {e}"))),
        Some("iso-8859-1") | Some("latin1") | Some("latin-1") | Some("us-ascii") | Some("ascii") => {
            Ok(std::borrow::Cow::Owned(body.iter().map(|&b| b as char).collect()))
        }
        Some(other) => Err(XmlError::Encoding(other.to_string())),
    }
}

/// The lower-cased `encoding` of the XML declaration, if there is one.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = body.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    let at = decl.find("encoding")?;
    let rest = decl[at + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_text_and_attributes() {
        let doc = parse(
            br#"<?xml version="1.0"?><xml><element attribute_name="java.lang.reflect">element_value</element><b x="1" y='2'>t<![CDATA[<c>]]></b></xml>"#,
        )
        .unwrap();
        assert_eq!(doc.root_text, b"element_valuet<c>");
        assert_eq!(doc.xpath("/*").unwrap(), [&b"element_valuet<c>"[..]]);
        assert_eq!(
            doc.xpath("//@*").unwrap(),
            [&b"java.lang.reflect"[..], &b"1"[..], &b"2"[..]]
        );
        assert_eq!(doc.attributes[0].0, b"attribute_name");
        assert!(doc.xpath("/xml/b").is_none());
    }

    #[test]
    fn entities_are_expanded_and_comments_skipped() {
        let doc = parse(b"<a>x &amp; &#x3c;y<!-- hidden --></a>").unwrap();
        assert_eq!(doc.root_text, b"x & <y");
    }

    #[test]
    fn internal_entities_expand_external_ones_do_not_load() {
        let doc = parse(br#"<!DOCTYPE a [<!ENTITY e "evil">]><a>&e;</a>"#).unwrap();
        assert_eq!(doc.root_text, b"evil");
        // An external entity is never fetched: either an error or no content from it.
        match parse(br#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#) {
            Ok(doc) => assert!(!String::from_utf8_lossy(&doc.root_text).contains("root:")),
            Err(e) => assert!(matches!(e, XmlError::Malformed(_))),
        }
    }

    #[test]
    fn entity_expansion_bomb_is_rejected() {
        let mut body = String::from("<!DOCTYPE a [<!ENTITY l0 \"lol\">");
        for i in 1..10 {
            let refs = format!("&l{};", i - 1).repeat(10);
            body.push_str(&format!("<!ENTITY l{i} \"{refs}\">"));
        }
        body.push_str("]><a>&l9;</a>");
        assert!(parse(body.as_bytes()).is_err());
    }

    #[test]
    fn malformed_documents_are_errors() {
        for body in [
            &b"<a><b></a>"[..],
            b"not xml",
            b"",
            b"<a>",
            b"<a></a><b></b>",
            b"<a x=1/>",
        ] {
            assert!(
                matches!(parse(body), Err(XmlError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn encodings() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>";
        assert_eq!(parse(latin).unwrap().root_text, "café".as_bytes());
        assert!(matches!(parse(b"<a>\xff</a>"), Err(XmlError::Malformed(_))));
        let other = b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>";
        assert_eq!(parse(other), Err(XmlError::Encoding("utf-16".into())));
        assert!(parse(b"\xEF\xBB\xBF<a>x</a>").is_ok());
    }

    #[test]
    fn namespace_declarations_are_not_attributes() {
        let doc = parse(br#"<a xmlns="urn:x" xmlns:p="urn:p" p:k="v"/>"#).unwrap();
        assert_eq!(doc.xpath("//@*").unwrap(), [&b"v"[..]]);
    }
}
