"""Where the settings read from: the checkout's root and the environment (django-environ).

Every settings module reads its values through this `env`, so the local
services' file is read once, before any of them.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
# Local checkouts: `python -m infra.local up` writes the addresses of the local
# services here. Real environment variables always win over the file.
if (BASE_DIR / ".local" / "services.env").exists():
    env.read_env(str(BASE_DIR / ".local" / "services.env"), overwrite=False)
