//! Benchmarks of the bundle: `benches/verification.rs` (criterion) measures verification and
//! signing against the raw crypto of the same backend; `src/bin/cold-start.rs` measures Lambda
//! init and first invocations against a local stand-in for the Lambda Runtime API. See
//! docs/PERFORMANCE.md for the commands and the figures.
