//! Deprecated words found in a policy document: read with their current meaning and reported
//! as warnings, never as errors.

use std::fmt;

use meshward_vocab::Deprecation;

use crate::error::Location;
use crate::model::PolicyDocument;

/// A deprecated word in a document and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecated {
    /// Where (the document's `mode`, or a policy's).
    pub location: Location,
    /// The word and what it was read as.
    pub deprecation: Deprecation,
}

impl fmt::Display for Deprecated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.deprecation)
    }
}

/// The deprecated words of `doc`, in document order (lines unknown: see
/// [`Location::locate_in`]).
pub fn find(doc: &PolicyDocument) -> Vec<Deprecated> {
    let at = |policy: Option<&str>| Location {
        policy: policy.map(str::to_string),
        rule: None,
        field: "mode".into(),
        line: None,
    };
    let document = doc.mode.deprecation().map(|d| (at(None), d));
    let policies = doc
        .policies
        .iter()
        .filter_map(|p| Some((at(Some(&p.name)), p.mode?.deprecation()?)));
    document
        .into_iter()
        .chain(policies)
        .map(|(location, deprecation)| Deprecated { location, deprecation })
        .collect()
}
