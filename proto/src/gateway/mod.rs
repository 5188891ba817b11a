//! The LLBBridge client: how a frontend talks to BuildKit over its stdin/stdout.
