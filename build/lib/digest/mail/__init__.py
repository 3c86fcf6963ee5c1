"""Email: the precompiled per-issue message and the backends that carry it."""
