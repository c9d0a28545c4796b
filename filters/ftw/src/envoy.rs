//! The real-Envoy driver: one Envoy with `meshward_waf.wasm` in front of an albedo upstream;
//! every test request is sent as raw bytes (go-ftw's wire form plus an `x-request-id` to find
//! its evidence event), then the WAF's own evidence lines are read back from Envoy's log.
//!
//! Requests run on a few concurrent client connections (Envoy has one worker), all before
//! the log is read: a last marker request that CRS always flags is sent once every test
//! request has its response, and with a single worker its event is logged after theirs, so
//! when the marker's event is in the log, every test request's event (if any) is too.

use crate::check::{check, Mismatch, Observed};
use crate::drive::Served;
use crate::evidence::Event;
use crate::http1::{self, ProxyOptions};
use crate::load::Case;
use crate::run::{self, CaseResult};
use crate::skips::Skips;
use crate::wire;
use anyhow::Context;
use meshward_envoy::client::{self, Response};
use meshward_envoy::{Envoy, EnvoyConfig, Upstream, WasmFilter};
use meshward_testkit::http1::Frame;
use meshward_testkit::locate;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to run Envoy for the suite.
#[derive(Debug, Clone)]
pub struct EnvoySettings {
    /// The WAF filter.
    pub wasm: PathBuf,
    /// Its plugin configuration (JSON).
    pub config: String,
    /// The proxy model matching this Envoy's options (says which requests Envoy answers itself).
    pub proxy: ProxyOptions,
    /// Concurrent client connections.
    pub clients: usize,
    /// Envoy's `request_timeout`: a request whose body never completes is answered 408 after it.
    pub request_timeout: Duration,
    /// How long the client waits for one response.
    pub client_timeout: Duration,
}

impl EnvoySettings {
    /// The suite's settings for `wasm` with plugin configuration `config`.
    pub fn new(wasm: PathBuf, config: String) -> Self {
        EnvoySettings {
            wasm,
            config,
            proxy: ProxyOptions::default(),
            clients: 4,
            request_timeout: Duration::from_secs(2),
            client_timeout: Duration::from_secs(10),
        }
    }

    /// The Envoy configuration: the WAF, an albedo upstream, default HTTP/1 options except a
    /// request timeout and keeping the client's `x-request-id`.
    pub fn envoy_config(&self, upstream: std::net::SocketAddr) -> EnvoyConfig {
        let filter = WasmFilter::new(&self.wasm, self.config.clone())
            .name("meshward_waf")
            .root_id("meshward_waf")
            .vm_id("meshward_waf");
        let mut config = EnvoyConfig::new(upstream)
            .filter(filter)
            .hcm_option(
                "request_timeout",
                format!("{}s", self.request_timeout.as_secs_f64()).into(),
            )
            .hcm_option("preserve_external_request_id", true.into())
            .log_level("info");
        if self.proxy.accept_http_10 {
            config = config.hcm_option("http_protocol_options", serde_json::json!({ "accept_http_10": true }));
        }
        config
    }
}

/// What one stage's request got from Envoy.
#[derive(Debug, Clone)]
struct Sent {
    request_id: String,
    raw: Vec<u8>,
    response: Result<Response, String>,
}

/// A running Envoy + upstream pair for the suite.
pub struct EnvoyDriver {
    settings: EnvoySettings,
    upstream: Upstream,
    envoy: Envoy,
    next_id: AtomicUsize,
}

impl EnvoyDriver {
    /// Starts the upstream (albedo) and Envoy with the WAF.
    pub fn start(settings: EnvoySettings) -> anyhow::Result<EnvoyDriver> {
        locate::wasm_file_at(&settings.wasm)?;
        let upstream = Upstream::start()?;
        upstream.set_albedo(true);
        let envoy = Envoy::start(&settings.envoy_config(upstream.addr())).context("starting Envoy with the WAF")?;
        Ok(EnvoyDriver {
            settings,
            upstream,
            envoy,
            next_id: AtomicUsize::new(1),
        })
    }

    /// The running Envoy.
    pub fn envoy(&self) -> &Envoy {
        &self.envoy
    }

    /// Sends every stage of `cases` through Envoy, reads the evidence, and judges each case.
    pub fn run(&mut self, cases: &[Case], skips: &Skips) -> anyhow::Result<Vec<CaseResult>> {
        self.upstream.clear_requests();
        let sent: Vec<Mutex<Vec<Option<Sent>>>> = cases.iter().map(|_| Mutex::new(Vec::new())).collect();
        let next_case = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..self.settings.clients.max(1) {
                scope.spawn(|| loop {
                    let index = next_case.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(index) else { break };
                    if skips.reason(&case.id()).is_some() {
                        continue;
                    }
                    let stages: Vec<Option<Sent>> = case.stages.iter().map(|stage| self.send_stage(stage)).collect();
                    *sent[index].lock().unwrap_or_else(|p| p.into_inner()) = stages;
                });
            }
        });
        let events = self.collect_events()?;
        let upstream_seen: BTreeSet<String> = self
            .upstream
            .heads()
            .iter()
            .filter_map(|r| r.header("x-request-id").map(str::to_string))
            .collect();
        let proxy = self.settings.proxy;
        Ok(cases
            .iter()
            .zip(sent)
            .map(|(case, sent)| {
                let sent = sent.into_inner().unwrap_or_else(|p| p.into_inner());
                run::run_case_with(case, skips, |index, stage| {
                    let Some(Some(sent)) = sent.get(index) else {
                        let raw = wire::request_bytes(&stage.input);
                        return Err(Mismatch::Failed(match raw {
                            Err(e) => format!("bad test input: {e}"),
                            Ok(_) => "not sent".to_string(),
                        }));
                    };
                    judge(
                        stage,
                        sent,
                        &proxy,
                        events.get(&sent.request_id),
                        upstream_seen.contains(&sent.request_id),
                    )
                })
            })
            .collect())
    }

    fn send_stage(&self, stage: &crate::format::Stage) -> Option<Sent> {
        let raw = wire::request_bytes(&stage.input).ok()?;
        let request_id = request_id(self.next_id.fetch_add(1, Ordering::SeqCst));
        let bytes = with_request_id(&raw, &request_id);
        let head = raw.starts_with(b"HEAD ");
        let response =
            client::send_raw(self.envoy.addr(), &bytes, head, self.settings.client_timeout).map_err(|e| e.to_string());
        Some(Sent {
            request_id,
            raw,
            response,
        })
    }

    /// Sends the marker, waits for its event, and returns every event by request id.
    fn collect_events(&self) -> anyhow::Result<BTreeMap<String, Event>> {
        let marker = format!(
            "ffffffff-ffff-4fff-bfff-{:012x}",
            self.next_id.fetch_add(1, Ordering::SeqCst)
        );
        let request = format!(
            "GET /?meshward_ftw_marker=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\r\nhost: localhost\r\nx-request-id: {marker}\r\nconnection: close\r\n\r\n"
        );
        client::send_raw(
            self.envoy.addr(),
            request.as_bytes(),
            false,
            self.settings.client_timeout,
        )
        .context("sending the marker request")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events: BTreeMap<String, Event> = self
                .envoy
                .wasm_logs()
                .iter()
                .filter_map(|l| Event::parse(&l.message))
                .map(|e| (e.request_id.clone(), e))
                .collect();
            if events.contains_key(&marker) {
                return Ok(events);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the marker request's evidence event never appeared in Envoy's log ({} events read); is the WAF logging events?",
                events.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A request id in Envoy's UUID form, unique per request of a run.
fn request_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// `raw` with an `x-request-id` header line right after the request line.
fn with_request_id(raw: &[u8], request_id: &str) -> Vec<u8> {
    let Some(end) = raw.iter().position(|&b| b == b'\n') else {
        return raw.to_vec();
    };
    let mut out = Vec::with_capacity(raw.len() + 64);
    out.extend_from_slice(&raw[..=end]);
    out.extend_from_slice(format!("x-request-id: {request_id}\r\n").as_bytes());
    out.extend_from_slice(&raw[end + 1..]);
    out
}

/// Judges one stage from what Envoy answered, the WAF's event and whether the upstream saw
/// the request; the proxy model says whether Envoy should have answered it itself.
fn judge(
    stage: &crate::format::Stage,
    sent: &Sent,
    proxy: &ProxyOptions,
    event: Option<&Event>,
    upstream_saw: bool,
) -> Result<(), Mismatch> {
    let status = sent.response.as_ref().ok().map(|r| r.status);
    let seen = || {
        format!(
            "[Envoy: {}; WAF event: {}; upstream saw it: {}]",
            match &sent.response {
                Ok(r) => format!("status {}", r.status),
                Err(e) => format!("no response ({e})"),
            },
            if event.is_some() { "yes" } else { "no" },
            if upstream_saw { "yes" } else { "no" }
        )
    };
    match http1::parse_with(&sent.raw, proxy) {
        Err(rejection) => {
            if event.is_none() && !upstream_saw && status == rejection.status {
                check(&stage.output, &Observed::ProxyRejected(rejection))
            } else {
                Err(Mismatch::Failed(format!(
                    "the proxy model expected Envoy to answer {:?} itself ({}), but {}",
                    rejection.status,
                    rejection.reason,
                    seen()
                )))
            }
        }
        Ok(request) => {
            let Ok(response) = &sent.response else {
                if stage.output.expect_error == Some(true) {
                    return Ok(());
                }
                return Err(Mismatch::Failed(format!("no response from Envoy {}", seen())));
            };
            let event = event.cloned().unwrap_or_default();
            let ids = event.ids();
            let served = Served {
                status: response.status,
                // As it came over the wire: status line, headers, body.
                response: response.to_bytes(Frame::Bare),
                logged_ids: ids.clone(),
                matched_ids: ids,
                log: event.log_lines(),
            };
            run::check_served(stage, &request, served).map_err(|m| match m {
                Mismatch::Failed(reason) => Mismatch::Failed(format!("{reason} {}", seen())),
                other => other,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_goes_after_the_request_line() {
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(
            with_request_id(raw, "id-1"),
            b"GET / HTTP/1.1\r\nx-request-id: id-1\r\nHost: a\r\n\r\n".to_vec()
        );
        assert_eq!(with_request_id(b"GARBAGE", "x"), b"GARBAGE".to_vec());
        assert_eq!(request_id(255), "00000000-0000-4000-8000-0000000000ff");
    }
}
