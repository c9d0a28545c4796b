//! Transformation functions (`t:lowercase`, `t:urlDecodeUni`, ...) with ModSecurity v3 semantics.
//!
//! CONTRACT (shared by the engine core): `Transform::from_name` and `Transform::apply`.
//! The engine never calls `apply` with `Transform::None`: `t:none` clears the chain at load time.

use std::borrow::Cow;

/// One SecLang transformation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// `t:none`: clears the transformations inherited so far.
    None,
}

impl Transform {
    /// Looks up a transformation by its SecLang name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Transform> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(Transform::None),
            _ => None,
        }
    }

    /// Applies the transformation; borrows the input when it does not change.
    pub fn apply(self, input: &[u8]) -> Cow<'_, [u8]> {
        match self {
            Transform::None => Cow::Borrowed(input),
        }
    }
}
