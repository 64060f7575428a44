//! Refine tests.
