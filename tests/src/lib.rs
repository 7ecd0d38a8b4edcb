//! Shared helpers for moat integration tests live in `tests/tests/common`.
