"""PostgreSQL backend that skips the per-request health check of a connection used a moment ago."""
