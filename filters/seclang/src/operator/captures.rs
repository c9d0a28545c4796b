//! Capture groups a matching operator hands back for the `capture` action.

/// Capture groups set by a matching operator when its rule has the `capture` action
/// (`TX.0` .. `TX.9`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Captures {
    /// Index `i` holds `TX.i`; unset groups are `None`.
    pub(crate) groups: [Option<Vec<u8>>; 10],
}
