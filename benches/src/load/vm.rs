//! What the WAF's VMs report about themselves in Envoy: the load line each VM logs when its
//! rules are ready (how long loading took, linear memory then) and the memory gauge.

/// One WAF configuration's VM figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmFigures {
    /// Per VM that logged its load line: (milliseconds to rules ready, linear memory bytes then).
    pub loads: Vec<(f64, u64)>,
    /// The `meshward_waf.wasm_memory_bytes` gauge (`wasmcustom.` in Envoy's stats) after the last measurement: the largest
    /// linear memory a VM reported (each VM sets it when its memory grows).
    pub memory_end: Option<u64>,
}

impl VmFigures {
    /// The slowest VM's load time, in milliseconds.
    pub fn slowest_load_ms(&self) -> Option<f64> {
        self.loads.iter().map(|l| l.0).reduce(f64::max)
    }

    /// The largest linear memory a VM had right after loading, in bytes.
    pub fn largest_loaded_memory(&self) -> Option<u64> {
        self.loads.iter().map(|l| l.1).max()
    }
}

/// The load time (ms) and linear memory (bytes) of a WAF load line: `… in 14.2 ms; wasm
/// memory 7864320 bytes; …`. `None` for any other message.
pub fn parse_load_line(message: &str) -> Option<(f64, u64)> {
    let (head, tail) = message.split_once(" ms; wasm memory ")?;
    let ms = head.rsplit_once(" in ")?.1.parse().ok()?;
    let bytes = tail.split_once(" bytes")?.0.parse().ok()?;
    Some((ms, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_load_line() {
        let line = "meshward waf: loaded 612 rules (1 distinct rule sets, ruleset crs, mode enforce) \
                    in 14.2 ms; wasm memory 7864320 bytes; config_hash 1a2b";
        assert_eq!(parse_load_line(line), Some((14.2, 7_864_320)));
        assert_eq!(parse_load_line("meshward waf: rule 942100 failed to build"), None);
        assert_eq!(parse_load_line("loaded in x ms; wasm memory 1 bytes"), None);
    }

    #[test]
    fn figures_take_the_worst_vm() {
        let f = VmFigures {
            loads: vec![(12.0, 100), (30.5, 90), (9.0, 120)],
            memory_end: Some(200),
        };
        assert_eq!(f.slowest_load_ms(), Some(30.5));
        assert_eq!(f.largest_loaded_memory(), Some(120));
        assert_eq!(VmFigures::default().slowest_load_ms(), None);
    }
}
