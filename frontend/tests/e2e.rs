//! Placeholder: the e2e harness lands next.
