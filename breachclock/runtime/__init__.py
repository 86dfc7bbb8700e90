"""The engine's runtime parts: settings, the payload codec, stores, telemetry, logs,
the local outbox, the connection to Temporal, safe input files."""
