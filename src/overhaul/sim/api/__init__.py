"""The embedded cluster's HTTP API (an ASGI app)."""
