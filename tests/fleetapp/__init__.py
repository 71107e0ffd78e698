"""A tenant-plane app for fleet migration tests: MIGRATION_MODULES picks its migration set."""
