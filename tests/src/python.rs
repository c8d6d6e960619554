//! The Python interpreter of the tests' third-party peers (validators, Confluent's client,
//! pyarrow, schemathesis): `TEST_PYTHON`, or the virtualenv `make test` installs
//! `tests/python/requirements.txt` into.

use std::path::PathBuf;

/// The interpreter.
///
/// # Panics
/// When it does not exist, naming how to install it.
pub fn python() -> PathBuf {
    let python = std::env::var_os("TEST_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/.venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "{} missing: install tests/python/requirements.txt (make test does) or set TEST_PYTHON",
        python.display()
    );
    python
}
