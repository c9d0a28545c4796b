//! Resident memory of a process tree, from `/proc`.

/// A process's `VmRSS` in KiB (`None` when it is gone or the line is missing).
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// The `VmRSS:` value of a `/proc/<pid>/status` text, in KiB.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The direct children of `pid` (nginx's workers).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// `VmRSS` of `pid` and its children together, in KiB.
pub fn tree_rss_kib(pid: u32) -> u64 {
    std::iter::once(pid).chain(children(pid)).filter_map(vm_rss_kib).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_kib() {
        let status = "Name:\tenvoy\nVmPeak:\t  900000 kB\nVmRSS:\t  101234 kB\nThreads:\t12\n";
        assert_eq!(parse_vm_rss(status), Some(101_234));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        let own = vm_rss_kib(std::process::id()).unwrap();
        assert!(own > 0);
        assert!(tree_rss_kib(std::process::id()) >= own);
    }
}
