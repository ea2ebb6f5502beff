"""The store: the lesson logs, the directory, leases and notices, in Redis (or in memory)."""
