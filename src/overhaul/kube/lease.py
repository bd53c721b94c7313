"""The upgrade lock as a coordination.k8s.io/v1 Lease (implements `engine.lock.UpgradeLock`).

The Lease is written the way client-go's leader election writes its lock: `holderIdentity`,
`leaseDurationSeconds`, `acquireTime`, `renewTime` (MicroTime) and `leaseTransitions`, counted up
whenever the holder changes. Every change is a conditional write (the resourceVersion read, or a
create that fails when the Lease exists), so of two processes racing for the lock exactly one wins.
Release empties `holderIdentity` (and sets the duration to 1 s), as client-go's ReleaseOnCancel
does, keeping the object and its transition count.

Staleness is judged on this machine's clock against the Lease's `renewTime`: a holder whose clock
is far off can look stale early or late. client-go avoids that by timing from its own first sight
of the record, at the cost of waiting a whole duration before any takeover; an upgrade tool is
started by people, and a stale lock left by a crashed run should not cost them that wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from overhaul.kube.client import ApiClient, resource_path
from overhaul.kube.errors import Conflict, NotFound

JSON = dict[str, Any]
NAMESPACE = "kube-system"
NAME = "overhaul-upgrade"
DEFAULT_DURATION = 60
_RETRIES = 5


def micro_time(moment: datetime) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds the Lease (implements `engine.lock.LockHolder`)."""

    identity: str
    acquired_at: datetime | None
    renewed_at: datetime | None
    duration_seconds: int
    transitions: int
    stale: bool

    @property
    def expires_at(self) -> datetime | None:
        seen = self.renewed_at or self.acquired_at
        return seen + timedelta(seconds=self.duration_seconds) if seen else None


@dataclass(frozen=True)
class LeaseAttempt:
    """The answer to `LeaseLock.try_acquire` (implements `engine.lock.LockAttempt`)."""

    acquired: bool
    holder: LeaseHolder
    taken_over: LeaseHolder | None = None


class LeaseLock:
    """The upgrade lock held through a Lease (default `kube-system/overhaul-upgrade`)."""

    def __init__(
        self,
        client: ApiClient,
        identity: str,
        *,
        namespace: str = NAMESPACE,
        name: str = NAME,
        duration_seconds: int = DEFAULT_DURATION,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        abandoned: Callable[[str], bool] | None = None,
    ) -> None:
        """`abandoned(identity)` says a holder is gone for sure (its process on this host ended): its
        Lease counts as stale at once instead of after its duration."""
        if not identity:
            raise ValueError("a lock holder needs an identity")
        if duration_seconds < 1:
            raise ValueError("a lease lasts at least 1 second")
        self.client = client
        self._identity = identity
        self.namespace = namespace
        self.name = name
        self._duration = duration_seconds
        self._clock = clock
        self._abandoned = abandoned

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def duration_seconds(self) -> int:
        return self._duration

    @property
    def description(self) -> str:
        return f"Lease {self.namespace}/{self.name}"

    @property
    def _path(self) -> str:
        return resource_path("coordination.k8s.io", "v1", "leases", self.namespace, self.name)

    @property
    def _collection(self) -> str:
        return resource_path("coordination.k8s.io", "v1", "leases", self.namespace)

    def _get(self) -> JSON | None:
        try:
            return self.client.get(self._path)
        except NotFound:
            return None

    def holder_of(self, lease: JSON) -> LeaseHolder | None:
        """The holder a Lease names (None when it is released: no holderIdentity)."""
        spec = lease.get("spec") or {}
        identity = str(spec.get("holderIdentity") or "")
        if not identity:
            return None
        duration = spec.get("leaseDurationSeconds")
        duration = duration if isinstance(duration, int) and duration > 0 else DEFAULT_DURATION
        acquired = parse_time(spec.get("acquireTime"))
        renewed = parse_time(spec.get("renewTime"))
        seen = renewed or acquired
        stale = seen is None or seen + timedelta(seconds=duration) < self._clock()
        if not stale and identity != self._identity and self._abandoned is not None:
            stale = self._abandoned(identity)
        transitions = spec.get("leaseTransitions")
        return LeaseHolder(
            identity,
            acquired,
            renewed,
            duration,
            transitions if isinstance(transitions, int) else 0,
            stale,
        )

    def current(self) -> LeaseHolder | None:
        lease = self._get()
        return self.holder_of(lease) if lease is not None else None

    def _spec(self, transitions: int, acquired: datetime) -> JSON:
        now = self._clock()
        return {
            "holderIdentity": self._identity,
            "leaseDurationSeconds": self._duration,
            "acquireTime": micro_time(acquired),
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        }

    def _ours(self, spec: JSON) -> LeaseHolder:
        holder = self.holder_of({"spec": spec})
        assert holder is not None
        return holder

    def try_acquire(self) -> LeaseAttempt:
        for _ in range(_RETRIES):
            lease = self._get()
            if lease is None:
                spec = self._spec(0, self._clock())
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {
                        "name": self.name,
                        "namespace": self.namespace,
                        "labels": {"app.kubernetes.io/managed-by": "overhaul"},
                    },
                    "spec": spec,
                }
                try:
                    self.client.post(self._collection, body)
                except Conflict:  # AlreadyExists: someone created it first; look again
                    continue
                return LeaseAttempt(True, self._ours(spec))
            holder = self.holder_of(lease)
            spec_now = lease.get("spec") or {}
            if holder is not None and holder.identity != self._identity and not holder.stale:
                return LeaseAttempt(False, holder)
            ours_already = holder is not None and holder.identity == self._identity
            transitions = holder.transitions if holder is not None else _transitions(spec_now)
            if not ours_already:
                transitions += 1
            acquired = holder.acquired_at if ours_already and holder and holder.acquired_at else None
            spec = self._spec(transitions, acquired or self._clock())
            updated = {**lease, "spec": {**spec_now, **spec}}
            try:
                self.client.put(self._path, updated)  # conditional: carries the resourceVersion
            except Conflict:  # changed since we read it: someone else acted first; look again
                continue
            except NotFound:  # deleted since we read it
                continue
            taken_over = holder if holder is not None and not ours_already else None
            return LeaseAttempt(True, self._ours(spec), taken_over)
        current = self.current()
        if current is not None and current.identity != self._identity:
            return LeaseAttempt(False, current)
        raise Conflict(409, "Conflict", f"{self.description} kept changing while we tried to take it")

    def renew(self) -> bool:
        for _ in range(_RETRIES):
            lease = self._get()
            if lease is None:
                # Deleted under us (by hand): take it again if nobody else did, as client-go does.
                return self.try_acquire().acquired
            holder = self.holder_of(lease)
            if holder is None or holder.identity != self._identity:
                return False
            spec = {**(lease.get("spec") or {}), "renewTime": micro_time(self._clock())}
            try:
                self.client.put(self._path, {**lease, "spec": spec})
            except Conflict:  # another write came between (a label, an annotation): read again
                continue
            except NotFound:
                continue
            return True
        return False

    def release(self) -> None:
        for _ in range(_RETRIES):
            lease = self._get()
            if lease is None:
                return
            holder = self.holder_of(lease)
            if holder is None or holder.identity != self._identity:
                return  # not ours (any more): nothing to give up
            now = micro_time(self._clock())
            spec = {
                **(lease.get("spec") or {}),
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
                "acquireTime": now,
                "renewTime": now,
            }
            try:
                self.client.put(self._path, {**lease, "spec": spec})
            except Conflict:
                continue
            except NotFound:
                return
            return


def _transitions(spec: JSON) -> int:
    value = spec.get("leaseTransitions")
    return value if isinstance(value, int) else 0
