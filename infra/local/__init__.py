"""Local development services for Tessera (standard library only)."""
