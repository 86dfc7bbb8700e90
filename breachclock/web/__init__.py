"""The HTTP API and the web console, over the service layer."""
