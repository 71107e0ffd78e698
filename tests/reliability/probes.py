"""Randomized cross-tenant probes: draw requests that mix tenants, judge the answers.

A probe is a request to the tenant API that carries something foreign to its
caller (the tenant whose token or password it uses): it addresses another
tenant (by `X-Tenant`, `<slug>.localhost` or a custom domain, alone or with
a conflicting header), or names objects of another tenant in its path,
query or body. A control is the same kind of request with everything the
caller's own; controls prove the harness would see data if it leaked.

The endpoints come from the OpenAPI schema, so a new endpoint is probed as
soon as it is published (and an id parameter the probe cannot fill fails
loudly instead of being skipped).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from core.urlconfs import is_tenant_path
from tests.reliability.world import SeededTenant

METHODS = ("get", "post", "put", "patch", "delete")
ENTITY_OF_SEGMENT = {"projects": "project", "tasks": "task", "exports": "export", "users": "user"}
CREATED_BY_SEGMENT = {**ENTITY_OF_SEGMENT, "comments": "comment"}
ADDRESSING = ("header", "subdomain", "domain", "subdomain+header", "domain+header")


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    entity: str | None  # what the path's {id} names


@dataclass
class Probe:
    method: str
    path: str
    data: dict[str, Any] | None
    headers: dict[str, str]
    caller: str | None  # slug whose credentials the request carries (None: anonymous)
    resolved: str  # slug the request addresses (Host wins over X-Tenant, as documented)
    owner: str  # slug owning the ids in path, query and body
    path_foreign: bool  # the path names another tenant's object

    @property
    def is_control(self) -> bool:
        return self.caller == self.resolved == self.owner


def tenant_endpoints(schema: dict[str, Any]) -> list[Endpoint]:
    """Return every operation of the tenant API published in the OpenAPI schema."""
    endpoints = []
    for path, operations in schema["paths"].items():
        if not is_tenant_path(path):
            continue
        entity = ENTITY_OF_SEGMENT.get(path.split("/")[2]) if "{" in path else None
        if "{" in path and (entity is None or path.count("{") != 1 or "{id}" not in path):
            raise AssertionError(f"the probe cannot fill the parameters of {path}: teach it")
        endpoints += [Endpoint(method, path, entity) for method in operations if method in METHODS]
    return endpoints


class ProbeDrawer:
    """Draw probes over a seeded world with a seeded random generator."""

    def __init__(self, world: list[SeededTenant], endpoints: list[Endpoint], rng: random.Random) -> None:
        self.world, self.endpoints, self.rng = world, endpoints, rng

    def draw(self) -> Probe:
        """Return a probe: 50% foreign ids, 35% foreign tenant, 5% anonymous, 10% controls."""
        rng = self.rng
        while True:
            caller, endpoint, roll = rng.choice(self.world), rng.choice(self.endpoints), rng.random()
            stranger = rng.choice([t for t in self.world if t is not caller])
            if roll < 0.50:  # the caller's own tenant, another tenant's ids
                target, owner = caller, stranger
            elif roll < 0.90:  # another tenant's address (anonymous from 0.85), ids of anyone
                target, owner = stranger, rng.choice(self.world)
            else:
                target, owner = caller, caller
            probe = self._build(endpoint, caller, target, owner, anonymous=0.85 <= roll < 0.90)
            if not probe.is_control or endpoint.method == "get":  # own writes are not the point
                return probe

    def _build(self, endpoint: Endpoint, caller: SeededTenant, target: SeededTenant, owner: SeededTenant, *,
               anonymous: bool) -> Probe:
        headers = self._address(target)
        path, data = self._path(endpoint, owner), self._payload(owner)
        credentials_of: str | None = None if anonymous else caller.slug
        if endpoint.template == "/api/auth/token/":
            # Sign-in probes use the owner's credentials: the caller is whoever knows them.
            username = self.rng.choice(["shared", f"admin-{owner.canary}"])
            data, credentials_of = {"username": username, "password": owner.password}, owner.slug
        elif not anonymous:
            headers["HTTP_AUTHORIZATION"] = f"Token {caller.tokens[self.rng.choice(list(caller.tokens))]}"
        return Probe(endpoint.method, path, data if endpoint.method != "get" else None, headers, credentials_of,
                     target.slug, owner.slug, bool(endpoint.entity) and owner.slug != credentials_of)

    def _address(self, target: SeededTenant) -> dict[str, str]:
        mode, decoy = self.rng.choice(ADDRESSING), self.rng.choice(self.world).slug
        host = {"subdomain": f"{target.slug}.localhost", "domain": target.domain}.get(mode.split("+")[0])
        if host is None:
            return {"HTTP_X_TENANT": target.slug}
        return {"HTTP_HOST": host, **({"HTTP_X_TENANT": decoy} if "+" in mode else {})}

    def _path(self, endpoint: Endpoint, owner: SeededTenant) -> str:
        if endpoint.entity:
            return endpoint.template.replace("{id}", str(self.rng.choice(owner.ids[endpoint.entity])))
        if endpoint.template == "/api/tasks/" and endpoint.method == "get":
            return f"/api/tasks/?project={owner.ids['project'][0]}&assignee={owner.ids['user'][1]}"
        return endpoint.template

    def _payload(self, owner: SeededTenant) -> dict[str, Any]:
        """Return a body naming the owner's objects; its texts carry no canary."""
        n = self.rng.randrange(10**6)
        return {"name": "probe", "key": f"P{n}", "title": "probe", "body": "probe", "description": "probe",
                "project": owner.ids["project"][0], "assignee": owner.ids["user"][1], "user": owner.ids["user"][1],
                "role": "member", "status": "todo", "username": f"probe{n}", "password": "probe-pass-1"}


@dataclass
class Verdicts:
    """What the probes found: problems, counts, and ids the callers created in their own tenant."""

    canaries: dict[str, str]  # canary -> slug
    probes: int = 0
    controls: int = 0
    controls_2xx: int = 0
    own_data_seen: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    created: dict[tuple[str, str], set[int]] = field(default_factory=dict)  # (slug, entity) -> ids

    def judge(self, probe: Probe, status: int, body: bytes) -> None:
        """Record one answer; a 5xx, a 2xx across tenants or another tenant's data is a problem."""
        self.statuses[status] = self.statuses.get(status, 0) + 1
        found = {slug for canary, slug in self.canaries.items() if canary.encode() in body}
        ok = 200 <= status < 300
        if probe.is_control:
            self.controls += 1
            self.controls_2xx += ok
            self.own_data_seen += probe.caller in found
        else:
            self.probes += 1
        problem = ("5xx" if status >= 500 else
                   f"data of {sorted(found - {probe.caller})}" if found - {probe.caller} else
                   "2xx across tenants" if ok and (probe.resolved != probe.caller or probe.path_foreign) else None)
        if problem:
            self.problems.append(f"{problem}: {probe.method.upper()} {probe.path} caller={probe.caller} "
                                 f"resolved={probe.resolved} owner={probe.owner} {probe.headers} -> {status} "
                                 f"{body[:300]!r}")
        elif ok and probe.method == "post" and probe.caller == probe.resolved:
            self._record_created(probe, body)

    def _record_created(self, probe: Probe, body: bytes) -> None:
        entity = CREATED_BY_SEGMENT.get(probe.path.rstrip("/").rsplit("/", 1)[-1])
        payload = json.loads(body) if body else None
        if entity and isinstance(payload, dict) and "id" in payload:
            self.created.setdefault((probe.resolved, entity), set()).add(payload["id"])
