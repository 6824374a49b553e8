"""MaintenanceWindow decisions: which window handles a target, restarts, notices, missed occurrences."""
