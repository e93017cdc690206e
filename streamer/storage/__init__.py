"""What is kept on disk: the SQLite store and the retention of scans and snapshots."""
