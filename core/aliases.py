"""The control plane's database aliases: the one place their names are written."""

CONTROL_ALIAS = "default"
CONTROL_REPLICA_ALIAS = "default_replica"
