"""overhaul: safe, fast, resumable Kubernetes upgrades and maintenance."""

__version__ = "0.1.0"
