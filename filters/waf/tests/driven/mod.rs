//! Driving the WAF natively with the embedded CRS (the mesh-profile tests): configurations,
//! requests and what the client, the upstream and the evidence saw.
#![allow(dead_code)]

use std::rc::Rc;

use meshward_waf::drive::{self, Driven, Request, Response};
use meshward_waf::exchange::{Attributes, Header};
use meshward_waf::loaded::Loaded;

/// The filter loaded with this configuration (JSON).
pub fn load(config: &str) -> Rc<Loaded> {
    Rc::new(Loaded::load(config.as_bytes()).unwrap_or_else(|e| panic!("{config}: {e}")))
}

/// The stream attributes of every test request.
pub fn attributes() -> Attributes {
    Attributes {
        route: None,
        request_id: Some("t".into()),
        client: "10.0.0.1:5555".into(),
        server: "10.0.0.2:8080".into(),
        protocol: Some("HTTP/1.1".into()),
    }
}

/// Header pairs as the host gives them.
pub fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

/// A GET without a body.
pub fn get() -> Request {
    Request {
        headers: headers(&[
            (":method", "GET"),
            (":path", "/report"),
            (":authority", "shop.example"),
            (":scheme", "http"),
        ]),
        ..Request::default()
    }
}

/// Runs `request` through a new exchange; the upstream answers `response`.
pub fn run(loaded: &Rc<Loaded>, request: &Request, response: Response) -> Driven {
    drive::drive(loaded.clone(), attributes(), request, || response, 0).unwrap()
}

/// The limits the event lists (none without an event).
pub fn limits(d: &Driven) -> Vec<String> {
    d.finish.event.as_ref().map(|e| e.limits.clone()).unwrap_or_default()
}
