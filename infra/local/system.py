"""Process and binary helpers for the local services (standard library only)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DEBIAN_PACKAGES = {"postgres": "postgresql", "redis-server": "redis-server", "pgbouncer": "pgbouncer"}


class InfraError(RuntimeError):
    """A local service could not be set up; the message says what to do."""


def is_root() -> bool:
    return os.geteuid() == 0


def pg_bindir() -> Path | None:
    """Return the directory of the newest installed PostgreSQL server binaries."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=_major)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def _major(path: Path) -> int:
    try:
        return int(path.parent.parent.name)
    except ValueError:
        return 0


def ensure_binaries(packages: dict[str, str] = DEBIAN_PACKAGES) -> None:
    """Install the Debian package of any missing binary in `packages` (binary -> package; root only)."""
    missing = [pkg for binary, pkg in packages.items() if not _have(binary)]
    if not missing:
        return
    if not is_root() or not shutil.which("apt-get"):
        raise InfraError(f"missing binaries; install the packages: {' '.join(missing)}")
    print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def _have(binary: str) -> bool:
    if binary == "postgres":
        return pg_bindir() is not None
    return shutil.which(binary) is not None or Path(f"/usr/sbin/{binary}").exists()


def binary(name: str) -> str:
    """Return the full path of a server binary."""
    if name in {"postgres", "initdb", "pg_ctl", "pg_basebackup", "psql"}:
        bindir = pg_bindir()
        if bindir and (bindir / name).exists():
            return str(bindir / name)
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if not found:
        raise InfraError(f"{name} not found")
    return found


def service_user() -> str | None:
    """Return the user servers run as: ``postgres`` when we are root (initdb refuses root)."""
    return "postgres" if is_root() else None


def as_service_user(cmd: list[str]) -> list[str]:
    user = service_user()
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def own(path: Path) -> None:
    """Give ``path`` (recursively) to the service user so servers can write there."""
    user = service_user()
    if not user:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def run(cmd: list[str], *, as_service: bool = False, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, raising InfraError with its output when it fails."""
    full = as_service_user(cmd) if as_service else cmd
    proc = subprocess.run(full, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise InfraError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.05)
    raise InfraError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def stop_pid(pid: int | None, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal a process and wait for it to exit, killing it if it will not."""
    if not pid_alive(pid):
        return
    assert pid is not None
    _signal_group_or_pid(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    _signal_group_or_pid(pid, signal.SIGKILL)


def _signal_group_or_pid(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


RESERVED_PORTS_FILE = Path("/proc/sys/net/ipv4/ip_local_reserved_ports")


def reserve_ports(first: int, last: int) -> bool:
    """Keep the kernel from handing ports first..last to outgoing connections (root only).

    The services listen on fixed loopback ports inside Linux's ephemeral range
    (32768-60999): a client socket that happens to be given one of them as its
    local port makes the next start of that service fail with "address in use".
    Reserving the range (added to what is already reserved) removes that race.
    Return whether the range is reserved.
    """
    if not is_root() or not RESERVED_PORTS_FILE.exists():
        return False
    current = RESERVED_PORTS_FILE.read_text().strip()
    wanted = f"{first}-{last}"
    if wanted in current.split(","):
        return True
    try:
        RESERVED_PORTS_FILE.write_text(f"{current},{wanted}" if current else wanted)
    except OSError:  # a read-only /proc (some containers): the race stays, nothing else changes
        return False
    return True


def refuse_foreign_port(port: int, name: str) -> None:
    """Fail clearly when a port we are about to use is held by something else."""
    if port_open(port):
        raise InfraError(
            f"port {port} (for {name}) is taken by another process: stop it (for another "
            f"checkout: `python -m infra.local down` there) or set TESSERA_PORT_BASE"
        )
