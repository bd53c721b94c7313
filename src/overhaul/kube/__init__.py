"""overhaul.kube"""
