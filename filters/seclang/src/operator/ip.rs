//! `@ipMatch` and `@ipMatchFromFile`: IPv4/IPv6 addresses and CIDR networks.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A set of IPv4 and IPv6 networks.
#[derive(Debug, Clone, Default)]
pub(crate) struct IpSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl IpSet {
    /// Adds a comma-separated list of addresses or CIDRs (`10.0.0.0/8,::1`). Entries are
    /// trimmed; empty entries are skipped.
    pub(crate) fn add_list(&mut self, list: &str) -> Result<(), String> {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            self.add(entry)?;
        }
        Ok(())
    }

    /// Adds the lines of an ipMatchFromFile data file: `#` starts a comment, each line may
    /// itself hold a comma-separated list.
    pub(crate) fn add_file_contents(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            self.add_list(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(())
    }

    fn add(&mut self, entry: &str) -> Result<(), String> {
        let (addr, bits) = match entry.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (entry, None),
        };
        let parse_bits = |max: u32| -> Result<u32, String> {
            match bits {
                None => Ok(max),
                Some(b) => b
                    .parse::<u32>()
                    .ok()
                    .filter(|&v| v <= max)
                    .ok_or_else(|| format!("invalid netmask in '{entry}'")),
            }
        };
        if entry.contains(':') {
            let ip: Ipv6Addr = addr.parse().map_err(|_| format!("invalid IPv6 address '{entry}'"))?;
            let mask = mask128(parse_bits(128)?);
            self.v6.push((u128::from(ip) & mask, mask));
        } else {
            let ip: Ipv4Addr = addr.parse().map_err(|_| format!("invalid IPv4 address '{entry}'"))?;
            let mask = mask32(parse_bits(32)?);
            self.v4.push((u32::from(ip) & mask, mask));
        }
        Ok(())
    }

    /// Number of networks held.
    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when `value` is an address inside one of the networks. A value that is not an
    /// address (as `inet_pton` reads it) never matches.
    pub(crate) fn contains(&self, value: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(value) else {
            return false;
        };
        if text.contains(':') {
            let Ok(ip) = text.parse::<Ipv6Addr>() else {
                return false;
            };
            let ip = u128::from(ip);
            self.v6.iter().any(|&(net, mask)| ip & mask == net)
        } else {
            let Ok(ip) = text.parse::<Ipv4Addr>() else {
                return false;
            };
            let ip = u32::from(ip);
            self.v4.iter().any(|&(net, mask)| ip & mask == net)
        }
    }
}

fn mask32(bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    }
}

fn mask128(bits: u32) -> u128 {
    if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &str) -> IpSet {
        let mut s = IpSet::default();
        s.add_list(list).expect("valid list");
        s
    }

    #[test]
    fn v4() {
        let s = set("127.0.0.1,10.10.10.0/21, 192.168.0.0/16");
        assert!(s.contains(b"127.0.0.1"));
        assert!(!s.contains(b"127.0.0.2"));
        assert!(s.contains(b"10.10.8.1"));
        assert!(s.contains(b"10.10.15.255"));
        assert!(!s.contains(b"10.10.7.254"));
        assert!(s.contains(b"192.168.200.1"));
        assert!(!s.contains(b"not an ip"));
        assert!(!s.contains(b""));
        assert!(!s.contains(b"127.0.0.1 "));
        assert!(set("0.0.0.0/0").contains(b"8.8.8.8"));
    }

    #[test]
    fn v6() {
        let s = set("::1,2001:db8::/32");
        assert!(s.contains(b"::1"));
        assert!(s.contains(b"2001:db8:ffff::1"));
        assert!(!s.contains(b"2001:db9::1"));
        assert!(!s.contains(b"127.0.0.1"));
        assert!(!s.contains(b":::"));
    }

    #[test]
    fn invalid_entries_are_rejected() {
        for bad in ["1.2.3", "1.2.3.4/33", "::1/129", "abc", "1.2.3.4/x"] {
            assert!(IpSet::default().add_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_contents() {
        let mut s = IpSet::default();
        s.add_file_contents("# comment\n10.0.0.0/8 # office\n\n::1\n")
            .expect("valid");
        assert_eq!(s.len(), 2);
        assert!(s.contains(b"10.1.2.3"));
        assert!(s.contains(b"::1"));
    }
}
