"""maintenance-operator: managed-platform maintenance and backups for any Kubernetes cluster."""
