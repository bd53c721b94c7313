"""The PDB-safe parallel drain: kubectl's filters and eviction rules, several nodes at once,
evictions scheduled against each PodDisruptionBudget's current allowance, waits by watch."""
