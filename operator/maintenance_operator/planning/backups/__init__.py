"""BackupWindow decisions: which snapshots to take, retention, status."""
