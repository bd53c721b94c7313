"""`overhaul apply`: runs a plan's steps against a cluster, crash-safe and resumable."""
