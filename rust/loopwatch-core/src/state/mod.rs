//! Mergeable states (SPEC §6): every aggregate is an `update` / `merge` / `finalize` state with a
//! versioned byte form, so results never depend on how rows were split.

pub mod codec;
