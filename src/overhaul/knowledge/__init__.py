"""Versioned Kubernetes facts as data files (data/*.yaml, each with its sources and the date it was
checked) and small typed loaders: releases, removed APIs, the version-skew policy, provider rules."""
