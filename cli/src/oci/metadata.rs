//! What an image says about itself: the `org.opencontainers.image.*` annotations and
//! meshward's own, from the filter and the build options.

use std::collections::BTreeMap;

use oci_spec::image::{
    Digest, ANNOTATION_CREATED, ANNOTATION_DESCRIPTION, ANNOTATION_LICENSES, ANNOTATION_REVISION, ANNOTATION_SOURCE,
    ANNOTATION_TITLE, ANNOTATION_VERSION,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::oci::media::{FILTER_ANNOTATION, WASM_DIGEST_ANNOTATION};

/// A `created` time that cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("SOURCE_DATE_EPOCH {epoch} is not a time an image can record: {reason}")]
pub struct CreatedError {
    /// The seconds given.
    pub epoch: i64,
    /// Why they were refused.
    pub reason: String,
}

/// The descriptive part of an image; nothing here depends on when or where it is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `org.opencontainers.image.title`, e.g. `meshward-waf`.
    pub title: String,
    /// `org.opencontainers.image.description`.
    pub description: String,
    /// The filter's file name (`meshward_waf.wasm`), annotation `meshward.filter`.
    pub filter_file: String,
    /// `org.opencontainers.image.version`.
    pub version: String,
    /// `org.opencontainers.image.licenses` (SPDX), when known.
    pub licenses: Option<String>,
    /// `org.opencontainers.image.source` (URL of the source code), when given.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`, when given.
    pub revision: Option<String>,
    /// `org.opencontainers.image.created` and the image configuration's `created` (RFC 3339);
    /// `None` records no time.
    pub created: Option<String>,
}

impl Metadata {
    /// The manifest annotations common to both variants; `wasm_digest` is the module's own digest.
    pub fn annotations(&self, wasm_digest: &Digest) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            a.insert(k.to_string(), v.to_string());
        };
        put(ANNOTATION_TITLE, &self.title);
        put(ANNOTATION_DESCRIPTION, &self.description);
        put(ANNOTATION_VERSION, &self.version);
        put(FILTER_ANNOTATION, &self.filter_file);
        put(WASM_DIGEST_ANNOTATION, wasm_digest.as_ref());
        for (key, value) in [
            (ANNOTATION_LICENSES, &self.licenses),
            (ANNOTATION_SOURCE, &self.source),
            (ANNOTATION_REVISION, &self.revision),
            (ANNOTATION_CREATED, &self.created),
        ] {
            if let Some(v) = value {
                put(key, v);
            }
        }
        a
    }
}

/// Seconds since 1970 (`SOURCE_DATE_EPOCH`) as an RFC 3339 time in UTC.
pub fn created_at(epoch: i64) -> Result<String, CreatedError> {
    let refuse = |reason: String| CreatedError { epoch, reason };
    OffsetDateTime::from_unix_timestamp(epoch)
        .map_err(|e| refuse(e.to_string()))?
        .format(&Rfc3339)
        .map_err(|e| refuse(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_is_utc_rfc3339() {
        assert_eq!(created_at(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(created_at(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert!(created_at(i64::MAX).is_err());
    }

    #[test]
    fn optional_annotations_appear_only_when_set() {
        let digest = crate::oci::blob::sha256(b"x");
        let mut m = Metadata {
            title: "t".into(),
            description: "d".into(),
            filter_file: "f.wasm".into(),
            version: "1".into(),
            licenses: None,
            source: None,
            revision: None,
            created: None,
        };
        let keys: Vec<String> = m.annotations(&digest).into_keys().collect();
        assert_eq!(
            keys,
            [
                "meshward.filter",
                "meshward.wasm.digest",
                "org.opencontainers.image.description",
                "org.opencontainers.image.title",
                "org.opencontainers.image.version"
            ]
        );
        m.source = Some("https://example.com/src".into());
        m.created = Some("1970-01-01T00:00:00Z".into());
        let a = m.annotations(&digest);
        assert_eq!(a["org.opencontainers.image.source"], "https://example.com/src");
        assert_eq!(a["org.opencontainers.image.created"], "1970-01-01T00:00:00Z");
        assert_eq!(a["meshward.wasm.digest"], digest.to_string());
    }
}
