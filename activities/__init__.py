"""Activities: every side effect of the engine, each idempotent by business key."""
