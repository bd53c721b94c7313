"""Readiness checks for an upgrade: pure functions of a `PreflightInput` (the ClusterView, the
target, the date, API usage found in manifests, Helm releases and metrics) to Findings.
`checks.run_checks` runs them all; `sources/` parses what they scan besides the cluster."""
