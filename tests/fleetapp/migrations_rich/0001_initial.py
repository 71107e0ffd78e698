"""The same initial migration in every fleetapp migration set (shared with migrations_v1)."""

import importlib

Migration = importlib.import_module("tests.fleetapp.migrations_v1.0001_initial").Migration
