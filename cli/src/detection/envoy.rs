//! Running corpus requests through real Envoy with the built WAF module in front of the
//! harness's recording upstream: a request is stopped when the upstream never sees it.

use std::path::Path;

use meshward_envoy::client::{send_raw, DEFAULT_TIMEOUT};
use meshward_envoy::{Envoy, EnvoyConfig, HarnessError, Upstream, WasmFilter};
use meshward_testkit::http1::{Frame, Request};

use super::measure::Verdict;

/// Envoy and its upstream, running one WAF configuration.
pub struct EnvoyRun {
    upstream: Upstream,
    envoy: Envoy,
}

impl EnvoyRun {
    /// Starts the upstream and Envoy (`MESHWARD_ENVOY`, else the repository's `.venv`) with
    /// `wasm` configured with `config`.
    pub fn start(wasm: &Path, config: &str) -> Result<EnvoyRun, HarnessError> {
        let upstream = Upstream::start()?;
        let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(WasmFilter::new(wasm, config)))?;
        Ok(EnvoyRun { upstream, envoy })
    }

    /// Sends `request` and tells whether the upstream received it (no rule ids: Envoy's log
    /// holds them, the report does not need them).
    pub fn verdict(&self, request: &Request) -> Result<Verdict, HarnessError> {
        let before = self.upstream.requests().len();
        let frame = if request.body.is_empty() {
            Frame::Bare
        } else {
            Frame::Length
        };
        send_raw(self.envoy.addr(), &request.to_bytes(frame), false, DEFAULT_TIMEOUT)?;
        Ok(Verdict {
            stopped: self.upstream.requests().len() == before,
            rules: Vec::new(),
        })
    }
}
