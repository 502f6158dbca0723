"""The core: graph IR, tracing, the reverse-mode transformer, the op registry and plugin hooks."""
