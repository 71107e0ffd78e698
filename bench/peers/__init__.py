"""Peers: the same product served by other multi-tenancy libraries, for side-by-side runs."""
