//! Device protocols without I/O. Each works on byte buffers and is tested with the
//! published frames of `docs/reference/device-protocol-vectors.json`.
