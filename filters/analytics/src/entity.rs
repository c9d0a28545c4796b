//! The entities analytics keeps state for, and their keyed 64-bit fingerprints.

use serde::Serialize;

use crate::siphash::Sip13;

/// What kind of thing an entity is (one record per kind and value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A peer's SPIFFE ID (mTLS).
    Principal = 1,
    /// A client IP.
    Client = 2,
    /// An end user: JWT `sub`, or a configured header or cookie.
    User = 3,
    /// The username an authentication attempt named (kept out of alerts: hashed).
    Username = 4,
    /// An endpoint: method and path template.
    Endpoint = 5,
    /// The workload (service) the filter protects.
    Workload = 6,
}

impl EntityKind {
    /// Every kind, in code order.
    pub const ALL: [EntityKind; 6] = [
        EntityKind::Principal,
        EntityKind::Client,
        EntityKind::User,
        EntityKind::Username,
        EntityKind::Endpoint,
        EntityKind::Workload,
    ];

    /// The kind's byte in a record (and hash domain).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The kind stored as `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind's name in alerts.
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Principal => "principal",
            EntityKind::Client => "client",
            EntityKind::User => "user",
            EntityKind::Username => "username",
            EntityKind::Endpoint => "endpoint",
            EntityKind::Workload => "workload",
        }
    }
}

/// One entity, borrowed from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity<'a> {
    /// A peer's SPIFFE ID.
    Principal(&'a str),
    /// A client IP.
    Client(&'a str),
    /// An end user.
    User(&'a str),
    /// A username named by an authentication attempt.
    Username(&'a str),
    /// A method and path template.
    Endpoint {
        /// Uppercased method.
        method: &'a str,
        /// Path template (or normalized path when no template matched).
        template: &'a str,
    },
    /// The protected workload.
    Workload(&'a str),
}

impl Entity<'_> {
    /// The entity's kind.
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Principal(_) => EntityKind::Principal,
            Entity::Client(_) => EntityKind::Client,
            Entity::User(_) => EntityKind::User,
            Entity::Username(_) => EntityKind::Username,
            Entity::Endpoint { .. } => EntityKind::Endpoint,
            Entity::Workload(_) => EntityKind::Workload,
        }
    }

    /// The keyed fingerprint: the kind is a domain byte, so equal strings of two kinds differ.
    pub fn fingerprint(&self, key: [u64; 2]) -> u64 {
        let mut h = Sip13::new(key);
        h.write_u8(self.kind().code());
        match self {
            Entity::Principal(v) | Entity::Client(v) | Entity::User(v) | Entity::Username(v) | Entity::Workload(v) => {
                h.write(v.as_bytes())
            }
            Entity::Endpoint { method, template } => {
                h.write(method.as_bytes());
                h.write_u8(0);
                h.write(template.as_bytes());
            }
        }
        // Zero marks an empty record: move the one fingerprint that hashes to it.
        match h.finish() {
            0 => 1,
            f => f,
        }
    }

    /// The value shown in an alert: raw, except a username, which shows only its fingerprint.
    pub fn display(&self, fingerprint: u64) -> String {
        match self {
            Entity::Principal(v) | Entity::Client(v) | Entity::User(v) | Entity::Workload(v) => (*v).to_string(),
            Entity::Username(_) => format!("fp:{fingerprint:016x}"),
            Entity::Endpoint { method, template } => format!("{method} {template}"),
        }
    }
}

/// The keyed hash of an item put in a sketch (a path, a host), in its own domain.
pub fn item_hash(key: [u64; 2], domain: u8, value: &str) -> u64 {
    let mut h = Sip13::new(key);
    h.write_u8(0x80 | domain);
    h.write(value.as_bytes());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_code() {
        for k in EntityKind::ALL {
            assert_eq!(EntityKind::from_code(k.code()), Some(k));
        }
        assert_eq!(EntityKind::from_code(0), None);
        assert_eq!(EntityKind::from_code(7), None);
    }

    #[test]
    fn the_kind_and_the_method_separator_are_part_of_the_fingerprint() {
        let key = [7, 9];
        assert_ne!(Entity::Client("a").fingerprint(key), Entity::User("a").fingerprint(key));
        let a = Entity::Endpoint {
            method: "GET",
            template: "/x",
        };
        let b = Entity::Endpoint {
            method: "GE",
            template: "T/x",
        };
        assert_ne!(a.fingerprint(key), b.fingerprint(key));
        assert_eq!(a.fingerprint(key), a.fingerprint(key));
    }

    #[test]
    fn usernames_are_never_displayed_raw() {
        let u = Entity::Username("alice@example.com");
        let shown = u.display(u.fingerprint([1, 2]));
        assert!(!shown.contains("alice"), "{shown}");
        assert!(shown.starts_with("fp:"));
    }
}
