//! A Tansu broker of the test's own, for tests that must stop and restart a broker.

/// Placeholder, filled in below.
pub struct TestBroker;
