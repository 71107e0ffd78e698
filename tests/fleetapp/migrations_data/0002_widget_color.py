"""The same column as migrations_v2."""

import importlib

Migration = importlib.import_module("tests.fleetapp.migrations_v2.0002_widget_color").Migration
