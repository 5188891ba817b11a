//! Shell-style word expansion ($VAR, ${VAR:-x}, quotes, escapes), as BuildKit's frontend does it.
