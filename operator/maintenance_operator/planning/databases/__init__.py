"""ManagedDatabase decisions: engines and versions, the manifests it owns, its pending upgrade, status."""
