"""Pure parsers of what preflight scans besides the cluster: manifests, Helm release secrets, the
apiserver's metrics and readiness text. Reading files, stdin and secrets is the caller's I/O."""
