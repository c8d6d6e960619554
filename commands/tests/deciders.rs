//! The vehicle decider's rules, stated as sentences and checked without I/O: every input
//! goes through `handle` + `evolve` exactly as the processor will run them.

#[path = "deciders/support.rs"]
mod support;

#[path = "deciders/device.rs"]
mod device;
#[path = "deciders/operators.rs"]
mod operators;
#[path = "deciders/properties.rs"]
mod properties;
#[path = "deciders/reservations.rs"]
mod reservations;
#[path = "deciders/ride_end.rs"]
mod ride_end;
#[path = "deciders/ride_start.rs"]
mod ride_start;
