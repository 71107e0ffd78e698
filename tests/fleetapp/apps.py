from django.apps import AppConfig


class FleetAppConfig(AppConfig):
    name = "tests.fleetapp"
    label = "fleetapp"
