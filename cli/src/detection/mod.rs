//! `meshward detection`'s parts: the corpus on disk ([`corpus`]), the requests each payload
//! becomes ([`shape`]), running them through the WAF ([`measure`]) and the figures
//! ([`report`]), natively or through real Envoy ([`envoy`]).

pub mod corpus;
pub mod envoy;
pub mod measure;
pub mod report;
pub mod shape;
