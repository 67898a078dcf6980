//! Integration tests of ATDM across crates and against real databases. The tests live in
//! `tests/`; this library is empty.
