//! Domain packs built with the public [`crate::Pack`] API.

pub mod healthcare;
