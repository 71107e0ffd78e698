"""Write the PgBouncer [databases] entries of every pooler, with per-tenant pool sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.dbservers import configured_servers
from tenants.pooler import databases_section, pooler_reload, poolers


class Command(BaseCommand):
    help = ("Write PgBouncer [databases] include files from the control plane: one per pooler "
            "(a server's primary and each replica).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server", help="only this server (default: all)")
        parser.add_argument("--output", help="file to write ({server} becomes the pooler's name, e.g. "
                                             "'a' or 'a-replica0'); default: stdout")
        parser.add_argument("--reload", action="store_true",
                            help="send RELOAD to each pooler's admin console after writing")
        parser.add_argument("--admin-user", default="postgres")
        parser.add_argument("--admin-password", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        servers = [opts["server"]] if opts["server"] else list(configured_servers())
        for server in servers:
            for name, target, pooler in poolers(server):
                text = databases_section(server, target, name)
                if not opts["output"]:
                    self.stdout.write(text)
                    continue
                path = Path(opts["output"].format(server=name))
                path.write_text(text)
                self.stdout.write(f"wrote {path} ({text.count(chr(10)) - 1} tenants)")
                if opts["reload"] and pooler is not None:
                    pooler_reload(configured_servers()[server], pooler, user=opts["admin_user"],
                                  password=opts["admin_password"])
