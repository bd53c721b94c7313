"""Fault injection in the embedded cluster's API: errors, latency and watch drops, as a real
apiserver under stress (or behind a load balancer that restarts) gives them to its clients.

- A fraction `rate` of resource requests fails before it does anything (no partial effect) with one
  of `codes`, drawn uniformly among those that fit the verb: 429 TooManyRequests with `Retry-After:
  1`, 500 InternalError (etcd lost its leader), 409 Conflict (a stale object) for writes to one named
  object only (update, patch, delete).
- `latency` seconds are added to every resource request.
- With `watch_drop_seconds` N, each watch ends after a random time up to N seconds: the stream just
  stops, as when the apiserver restarts.

Only the resource API is touched: discovery, /openapi, /version, /metrics, health and
/debug/overhaul/* never are, so readiness probes and tests keep working. The simulation's own
controllers, scheduler and kubelets write to the store directly and never see a fault. A seeded
generator makes a run's sequence of decisions reproducible.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from overhaul.sim import errors
from overhaul.sim.api.routing import ResourcePath, parse_api_path

JSONDict = dict[str, Any]
SUPPORTED_CODES = (429, 500, 409)
KINDS = ("429", "500", "409", "latency", "watch_drop")
WRITE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})
TOO_MANY_REQUESTS = "the server has received too many requests and has asked us to try again later"
ETCD_LEADER_CHANGED = "etcdserver: leader changed"
_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0}
_SECONDS = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m)?")


class FaultConfigError(ValueError):
    """Fault settings that make no sense (a rate above 1, an unsupported code, ...)."""


def parse_codes(text: str) -> tuple[int, ...]:
    """`429,500,409` → (429, 500, 409); only codes the injector knows how to give are accepted."""
    codes: list[int] = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        if not item.isdigit() or int(item) not in SUPPORTED_CODES:
            raise FaultConfigError(f"unsupported fault code {item!r} (use some of 429,500,409)")
        if int(item) not in codes:
            codes.append(int(item))
    if not codes:
        raise FaultConfigError("no fault codes given (use some of 429,500,409)")
    return tuple(codes)


def parse_seconds(value: Any, what: str) -> float:
    """Seconds from a JSON number or a string (`0.05`, `50ms`, `2s`, `1m`); never negative."""
    if isinstance(value, bool):
        raise FaultConfigError(f"{what}: expected seconds or a duration such as 50ms, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _SECONDS.fullmatch(value.strip())):
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise FaultConfigError(f"{what}: expected seconds or a duration such as 50ms, got {value!r}")
    if not seconds >= 0 or seconds == float("inf"):
        raise FaultConfigError(f"{what}: expected a non-negative duration, got {value!r}")
    return seconds


@dataclass(frozen=True)
class FaultSettings:
    """What to inject; all zero (the default) injects nothing."""

    rate: float = 0.0
    codes: tuple[int, ...] = SUPPORTED_CODES
    latency: float = 0.0  # seconds added to every resource request
    watch_drop_seconds: float = 0.0  # a watch ends after a random time up to this; 0: never
    seed: int | None = None  # None: a random one, reported so that the run can be reproduced

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise FaultConfigError(f"fault rate must be between 0 and 1, got {self.rate}")
        if not self.codes or any(c not in SUPPORTED_CODES for c in self.codes):
            raise FaultConfigError(f"fault codes must be some of 429,500,409, got {list(self.codes)}")
        parse_seconds(self.latency, "latency")
        parse_seconds(self.watch_drop_seconds, "watchDropSeconds")

    def updated(self, body: Mapping[str, Any]) -> FaultSettings:
        """These settings with the knobs of a `POST /debug/overhaul/faults` body changed."""
        unknown = sorted(set(body) - {"rate", "codes", "latency", "watchDropSeconds", "seed"})
        if unknown:
            raise FaultConfigError(
                f"unknown fault settings {unknown} (known: rate, codes, latency, watchDropSeconds, seed)"
            )
        changes: dict[str, Any] = {}
        if "rate" in body:
            rate = body["rate"]
            if isinstance(rate, bool) or not isinstance(rate, int | float):
                raise FaultConfigError(f"rate: expected a number between 0 and 1, got {rate!r}")
            changes["rate"] = float(rate)
        if "codes" in body:
            codes = body["codes"]
            if isinstance(codes, list):
                codes = ",".join(str(c) for c in codes)
            if not isinstance(codes, str):
                raise FaultConfigError(f"codes: expected a list such as [429, 500, 409], got {codes!r}")
            changes["codes"] = parse_codes(codes)
        if "latency" in body:
            changes["latency"] = parse_seconds(body["latency"], "latency")
        if "watchDropSeconds" in body:
            changes["watch_drop_seconds"] = parse_seconds(body["watchDropSeconds"], "watchDropSeconds")
        if "seed" in body:
            seed = body["seed"]
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise FaultConfigError(f"seed: expected an integer, got {seed!r}")
            changes["seed"] = seed
        return replace(self, **changes)


def is_fault_target(path: str) -> bool:
    """Whether requests to `path` may be faulted: the resource API only (not discovery, /openapi,
    /version, /metrics, health or /debug/overhaul/*)."""
    return isinstance(parse_api_path(path.rstrip("/") or "/"), ResourcePath)


def conflict_allowed(method: str, name: str | None) -> bool:
    """409 Conflict is for writes to one named object: update, patch, delete (not create, not reads,
    not deletecollection)."""
    return method.upper() in WRITE_METHODS and bool(name)


def fault_error(code: int, group: str, plural: str, name: str | None) -> errors.ApiError:
    """The `Status` the apiserver answers with for each injected code."""
    details: JSONDict = {"kind": plural}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if code == 429:
        return errors.ApiError(
            429,
            "TooManyRequests",
            TOO_MANY_REQUESTS,
            {**details, "retryAfterSeconds": 1},
            headers={"Retry-After": "1"},
        )
    if code == 500:
        return errors.ApiError(
            500,
            "InternalError",
            f'an error on the server ("{ETCD_LEADER_CHANGED}") has prevented the request from succeeding',
            {**details, "causes": [{"reason": "UnexpectedServerResponse", "message": ETCD_LEADER_CHANGED}]},
        )
    if code == 409:
        return errors.stale_conflict(group, plural, name or "")
    raise FaultConfigError(f"unsupported fault code {code}")


class Faults:
    """The injector one API server uses: current settings, the seeded generator, the counters."""

    def __init__(
        self, settings: FaultSettings | None = None, registry: CollectorRegistry | None = None
    ) -> None:
        self.injected: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._counter = Counter(
            "overhaul_sim_injected_faults",
            "Faults the embedded cluster injected into API requests, by kind (429, 500, 409, latency, "
            "watch_drop).",
            ["kind"],
            registry=registry,
        )
        for kind in KINDS:
            self._counter.labels(kind)
        self.settings = FaultSettings()
        self.seed = 0
        self._rng = random.Random()
        self.configure(settings or FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        """Takes new settings and restarts the generator from their seed (or a new random one)."""
        self.seed = settings.seed if settings.seed is not None else secrets.randbits(31)
        self._rng = random.Random(self.seed)
        self.settings = settings

    def update(self, body: Mapping[str, Any]) -> None:
        """Applies a `POST /debug/overhaul/faults` body: only the knobs it names change."""
        new = self.settings.updated(body)
        if "seed" in body:
            self.configure(new)
        else:
            self.settings = new  # keep the generator's sequence going

    @property
    def active(self) -> bool:
        s = self.settings
        return s.rate > 0 or s.latency > 0 or s.watch_drop_seconds > 0

    def _count(self, kind: str) -> None:
        self.injected[kind] += 1
        self._counter.labels(kind).inc()

    def latency(self) -> float:
        """Seconds to hold this resource request before handling it (counted when above 0)."""
        delay = self.settings.latency
        if delay > 0:
            self._count("latency")
        return delay

    def error(self, method: str, group: str, plural: str, name: str | None) -> errors.ApiError | None:
        """The error this request fails with, or None: with probability `rate`, one of the codes
        that fit the verb (409 only for writes to a named object), drawn uniformly."""
        rate = self.settings.rate
        if rate <= 0:
            return None
        draw = self._rng.random()
        if draw >= rate:
            return None
        fitting = [c for c in self.settings.codes if c != 409 or conflict_allowed(method, name)]
        if not fitting:
            return None
        # One draw per request decides both whether and which (draw / rate is uniform on [0, 1)), so
        # a seed's sequence maps request by request onto decisions.
        code = fitting[min(int(draw / rate * len(fitting)), len(fitting) - 1)]
        self._count(str(code))
        return fault_error(code, group, plural, name)

    def watch_lifetime(self) -> float | None:
        """Seconds after which to cut the watch starting now, or None to leave it alone."""
        limit = self.settings.watch_drop_seconds
        return self._rng.uniform(0.0, limit) if limit > 0 else None

    def watch_dropped(self) -> None:
        self._count("watch_drop")

    def state(self) -> JSONDict:
        """The settings and the counts, as `GET /debug/overhaul/faults` shows them."""
        s = self.settings
        return {
            "rate": s.rate,
            "codes": list(s.codes),
            "latency": s.latency,
            "watchDropSeconds": s.watch_drop_seconds,
            "seed": self.seed,
            "injected": dict(self.injected),
        }
