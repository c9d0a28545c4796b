//! go-ftw regression runner.
