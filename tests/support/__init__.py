"""Helpers shared by the test suites: the embedded cluster as a subprocess, kubectl discovery."""
