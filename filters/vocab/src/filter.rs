//! The meshward filters as named in log lines and metrics: one prefix style for all of them.

use std::fmt::Display;

/// A meshward filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// The WAF (`meshward_waf.wasm`).
    Waf,
    /// The L7 network-policy filter (`meshward_netpolicy.wasm`) and its engine.
    Policy,
}

impl Filter {
    /// Prefix of its message lines: `meshward.<filter>: `.
    pub const fn message_prefix(self) -> &'static str {
        match self {
            Filter::Waf => "meshward.waf: ",
            Filter::Policy => "meshward.policy: ",
        }
    }

    /// Prefix of its evidence events, followed by one-line JSON: `meshward.<filter>.event `.
    pub const fn event_prefix(self) -> &'static str {
        match self {
            Filter::Waf => "meshward.waf.event ",
            Filter::Policy => "meshward.policy.event ",
        }
    }

    /// Prefix of its metric names (Envoy exports them as `wasmcustom.<prefix>.<name>`).
    pub const fn metric_prefix(self) -> &'static str {
        match self {
            Filter::Waf => "meshward_waf",
            Filter::Policy => "meshward_policy",
        }
    }

    /// A message line: the prefix, then `text`.
    pub fn message(self, text: impl Display) -> String {
        format!("{}{text}", self.message_prefix())
    }

    /// A metric's full name: `<prefix>.<name>`.
    pub fn metric(self, name: impl Display) -> String {
        format!("{}.{name}", self.metric_prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_prefix_style_for_every_filter() {
        for (f, name) in [(Filter::Waf, "waf"), (Filter::Policy, "policy")] {
            assert_eq!(f.message("x"), format!("meshward.{name}: x"));
            assert_eq!(f.event_prefix(), format!("meshward.{name}.event "));
            assert_eq!(f.metric("blocked"), format!("meshward_{name}.blocked"));
        }
    }
}
