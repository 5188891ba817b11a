//! Dockerfile syntax: bytes → logical lines → AST with byte spans. Never fails, never does I/O.
