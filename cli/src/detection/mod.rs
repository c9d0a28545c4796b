//! `meshward detection`'s parts: the corpus on disk ([`corpus`]), the requests each payload
//! becomes ([`shape`]), running them through the WAF ([`measure`]) and the figures
//! ([`report`]).

pub mod corpus;
pub mod measure;
pub mod report;
pub mod shape;
