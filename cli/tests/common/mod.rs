//! Helpers shared by the `meshward` CLI's integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod gate;
pub mod registry;
