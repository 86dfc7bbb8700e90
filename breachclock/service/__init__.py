"""What people do with the engine, as plain async calls: the CLI's commands and the
HTTP API both call these, so both take the same paths through the same checks."""
