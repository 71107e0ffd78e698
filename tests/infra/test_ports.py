"""The local services' ports are kept out of the kernel's ephemeral range."""

from __future__ import annotations

from infra.local import config, system


def _reserved() -> set[int]:
    ports: set[int] = set()
    for part in system.RESERVED_PORTS_FILE.read_text().strip().split(","):
        if part:
            first, _, last = part.partition("-")
            ports.update(range(int(first), int(last or first) + 1))
    return ports


def test_service_ports_are_reserved_once_and_stay_reserved() -> None:
    first, last = config.PORT_BASE + 20, config.PORT_BASE + 99
    reserved = system.reserve_ports(first, last)
    again = system.reserve_ports(first, last)  # idempotent: no duplicate entry
    assert reserved == again == system.is_root()  # CI and this machine run as root
    if reserved:
        ports = _reserved()
        service_ports = {i.port for i in config.PG_INSTANCES} | {i.pooler_port for i in config.PG_INSTANCES}
        assert service_ports | {config.REDIS_PORT} <= ports
        assert system.RESERVED_PORTS_FILE.read_text().count(f"{first}-{last}") == 1
