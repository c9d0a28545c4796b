//! Real-Envoy harness.
