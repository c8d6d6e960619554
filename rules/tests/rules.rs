//! The rules crate's behaviour stated as sentences: rule files in, validation errors or
//! actions out, without I/O.

#[path = "rules/support.rs"]
mod support;

#[path = "rules/engine.rs"]
mod engine;
#[path = "rules/examples.rs"]
mod examples;
#[path = "rules/properties.rs"]
mod properties;
#[path = "rules/validation.rs"]
mod validation;
