//! # atdm-py
//!
//! This crate will hold the Python bindings of ATDM: the compiled module `atdm._atdm` (PyO3,
//! built with maturin) behind the pure-Python package `atdm`, with its pytest plugin.
//!
//! It exports nothing yet.
