"""Settings package: base.py holds everything; local, test, production override."""
