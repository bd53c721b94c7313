"""The embedded cluster's control loops: scheduler, workload controllers, kubelets, disruption."""
