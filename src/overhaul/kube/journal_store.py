"""The apply journal kept in the cluster (`--state cluster`; implements `engine.ports.JournalStore`).

The journal of plan P lives in the ConfigMap `kube-system/overhaul-journal-P`: its records (JSON
lines) under the key `journal`, the control requests (pause / resume / abort) under `control`.
A ConfigMap holds at most 1 MiB, so a long journal continues in `overhaul-journal-P.2`,
`overhaul-journal-P.3`, ... (the dot cannot occur in a plan id, so these names never collide with
another plan's journal); only the last part is ever rewritten.

Every write is conditional: an update carries the resourceVersion last read, a new part is a create
that fails if the name exists. When an update meets a conflict because only the control requests
changed (someone paused from another terminal), it is retried on the fresh object; when the journal
records themselves changed, another process is writing the same journal and the write is refused
(`JournalStoreConflict`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from overhaul.kube.client import ApiClient, resource_path
from overhaul.kube.errors import Conflict, KubeError, NotFound

JSON = dict[str, Any]
NAMESPACE = "kube-system"
PREFIX = "overhaul-journal-"
JOURNAL_KEY = "journal"
CONTROL_KEY = "control"
PLAN_LABEL = "upgrade.overhaul.io/journal"
PART_LABEL = "upgrade.overhaul.io/journal-part"
# The API server refuses ConfigMaps over 1 MiB of data. Every record rewrites the last part (and
# etcd keeps each revision until compaction), so parts stay well below that.
DEFAULT_PART_BYTES = 256 * 1024
_CONTROL_RETRIES = 10
_PLAN_ID = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class JournalStoreError(KubeError):
    """The journal in the cluster cannot be used as asked."""


class JournalStoreConflict(JournalStoreError):
    """Another process wrote the same journal (or created its next part) at the same time."""


def journal_name(plan_id: str) -> str:
    """The ConfigMap name of plan `plan_id`'s journal; the id must be a DNS label (63 characters at
    most: it is also a label value)."""
    if len(plan_id) > 63 or not _PLAN_ID.match(plan_id):
        raise ValueError(
            f"plan id {plan_id!r} cannot name a ConfigMap: use lowercase letters, digits and '-' "
            "(63 characters at most, starting and ending with a letter or digit)"
        )
    return PREFIX + plan_id


@dataclass
class _Part:
    name: str
    obj: JSON  # the ConfigMap as last read or written (its resourceVersion makes writes conditional)

    @property
    def data(self) -> bytes:
        return str((self.obj.get("data") or {}).get(JOURNAL_KEY) or "").encode()


class ConfigMapJournalStore:
    """Plan `plan_id`'s journal in ConfigMaps of `namespace` (default kube-system)."""

    def __init__(
        self,
        client: ApiClient,
        plan_id: str,
        *,
        namespace: str = NAMESPACE,
        part_bytes: int = DEFAULT_PART_BYTES,
    ) -> None:
        self.client = client
        self.plan_id = plan_id
        self.namespace = namespace
        self.name = journal_name(plan_id)
        self.part_bytes = max(1, part_bytes)
        self._parts: list[_Part] | None = None

    @property
    def location(self) -> str:
        return f"ConfigMap {self.namespace}/{self.name}"

    def close(self) -> None:
        """Nothing to release: the API client belongs to the caller."""

    def _part_name(self, index: int) -> str:
        return self.name if index == 1 else f"{self.name}.{index}"

    def _path(self, name: str = "") -> str:
        return resource_path("", "v1", "configmaps", self.namespace, name)

    def _get(self, name: str) -> JSON | None:
        try:
            return self.client.get(self._path(name))
        except NotFound:
            return None

    # ----- the journal

    def load(self) -> bytes:
        parts: list[_Part] = []
        index = 1
        while (obj := self._get(self._part_name(index))) is not None:
            parts.append(_Part(self._part_name(index), obj))
            index += 1
        self._parts = parts
        return b"".join(p.data for p in parts)

    def append(self, records: bytes, *, keep: int) -> None:
        if self._parts is None:
            self.load()
        assert self._parts is not None
        parts = self._parts
        total = sum(len(p.data) for p in parts)
        last_start = total - (len(parts[-1].data) if parts else 0)
        if not last_start <= keep <= total:
            raise JournalStoreError(
                f"{self.location}: cannot append after byte {keep} (the journal has {total} bytes, "
                f"its last part starts at {last_start})"
            )
        if not parts:
            parts.append(self._create(1, records, with_control=True))
            return
        last = parts[-1]
        kept = last.data[: keep - last_start]
        if kept == last.data and kept and len(kept) + len(records) > self.part_bytes:
            parts.append(self._create(len(parts) + 1, records, with_control=False))
            return
        self._rewrite(last, kept + records)

    def _create(self, index: int, records: bytes, *, with_control: bool) -> _Part:
        name = self._part_name(index)
        data = {JOURNAL_KEY: records.decode()}
        if with_control:
            data[CONTROL_KEY] = ""
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {
                    "app.kubernetes.io/managed-by": "overhaul",
                    PLAN_LABEL: self.plan_id,
                    PART_LABEL: str(index),
                },
            },
            "data": data,
        }
        try:
            created = self.client.post(self._path(), body)
        except Conflict as err:  # AlreadyExists: another writer got there first
            raise JournalStoreConflict(
                f"{self.location}: part {name} was created by another process at the same time"
            ) from err
        return _Part(name, created)

    def _rewrite(self, part: _Part, data: bytes) -> None:
        expected = part.data
        obj = part.obj
        for _ in range(_CONTROL_RETRIES):
            body = {**obj, "data": {**(obj.get("data") or {}), JOURNAL_KEY: data.decode()}}
            try:
                part.obj = self.client.put(self._path(part.name), body)
                return
            except Conflict:
                fresh = self._get(part.name)
            except NotFound:
                fresh = None
            if fresh is None:
                raise JournalStoreConflict(f"{self.location}: {part.name} was deleted while in use")
            if str((fresh.get("data") or {}).get(JOURNAL_KEY) or "").encode() != expected:
                raise JournalStoreConflict(
                    f"{self.location}: the journal was changed by another process (is another "
                    "overhaul apply running this plan?)"
                )
            obj = fresh  # only the control requests (or metadata) changed: write on the fresh object
        raise JournalStoreConflict(f"{self.location} kept changing while we wrote to it")

    # ----- control requests

    def load_control(self) -> bytes:
        head = self._get(self.name)
        if head is None:
            return b""
        return str((head.get("data") or {}).get(CONTROL_KEY) or "").encode()

    def append_control(self, record: bytes) -> None:
        if not record.endswith(b"\n") or b"\n" in record[:-1]:
            raise ValueError("a control request is one complete line")
        for _ in range(_CONTROL_RETRIES):
            head = self._get(self.name)
            if head is None:
                raise JournalStoreError(f"{self.location} does not exist: no journal to control")
            data = dict(head.get("data") or {})
            control = str(data.get(CONTROL_KEY) or "")
            if control and not control.endswith("\n"):
                control = control[: control.rfind("\n") + 1]
            data[CONTROL_KEY] = control + record.decode()
            try:
                written = self.client.put(self._path(self.name), {**head, "data": data})
            except Conflict:  # the apply wrote the journal in between: read again
                continue
            if self._parts:  # keep our copy fresh (the journal records in it are unchanged)
                self._parts[0].obj = written
            return
        raise JournalStoreConflict(f"{self.location} kept changing while we added a control request")
