"""etcd's own command-line tools, run as subprocesses: `etcdctl` for the member, `etcdutl` for files.

Why the tools rather than a Python etcd client: they are what etcd ships and versions with the
server (Debian's etcd-client, the etcd image on every kubeadm control plane), they speak etcd's gRPC
API with its TLS and retry rules, `snapshot save` is the v3 maintenance Snapshot call streamed to a
`.part` file and renamed when complete, and `snapshot status` reads the bbolt file as etcd does. The
Python clients would add gRPC and protobuf wheels and lag the server (python-etcd3 is unmaintained).

etcd 3.5 moved the offline file commands (`snapshot status`, `snapshot restore`) to `etcdutl` and 3.6
removed them from `etcdctl`; Debian's 3.4 has only `etcdctl`. `EtcdTools.find` uses `etcdutl` when
it is installed and `etcdctl` otherwise.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from overhaul.backup.errors import BadOptions, EtcdError

JSON = dict[str, Any]


@dataclass(frozen=True)
class EtcdOptions:
    """Where the etcd member is and how to authenticate to it (as etcdctl's flags)."""

    endpoint: str
    cacert: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    timeout: float = 10.0  # connecting, and each short request
    snapshot_timeout: float = 3600.0
    etcdctl: str | None = None  # default: found on PATH
    etcdutl: str | None = None

    def validate(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.port is None:
            raise BadOptions(f"--etcd-endpoint {self.endpoint}: give a URL like https://10.0.0.1:2379")
        if parts.path not in ("", "/") or parts.query:
            raise BadOptions(f"--etcd-endpoint {self.endpoint}: give only scheme, host and port")
        if (self.cert is None) != (self.key is None):
            raise BadOptions("--etcd-cert and --etcd-key go together")
        for flag, path in (
            ("--etcd-cacert", self.cacert),
            ("--etcd-cert", self.cert),
            ("--etcd-key", self.key),
        ):
            if path is not None and not path.is_file():
                raise BadOptions(f"{flag} {path}: no such file")
        if parts.scheme == "http" and (self.cacert or self.cert):
            raise BadOptions(f"--etcd-endpoint {self.endpoint}: certificates given for a plain-http endpoint")

    def flags(self) -> list[str]:
        out = [f"--endpoints={self.endpoint}", f"--dial-timeout={_seconds(self.timeout)}"]
        if self.cacert is not None:
            out.append(f"--cacert={self.cacert}")
        if self.cert is not None and self.key is not None:
            out += [f"--cert={self.cert}", f"--key={self.key}"]
        return out


def _seconds(value: float) -> str:
    return f"{max(1, round(value))}s"


def _environment() -> dict[str, str]:
    """The caller's environment without ETCDCTL_* settings (the flags here say everything)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    return env


_DIAGNOSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"certificate signed by unknown authority|certificate is valid for|x509:"),
        "TLS failed: etcd's server certificate is not trusted by --etcd-cacert (a different CA?)",
    ),
    (re.compile(r"connection refused"), "connection refused"),
    (re.compile(r"no such host|server misbehaving"), "cannot resolve the host name"),
    (re.compile(r"no route to host|network is unreachable"), "no route to host"),
    (
        re.compile(r"first record does not look like a TLS handshake"),
        "the endpoint does not speak TLS: use http://",
    ),
    (
        re.compile(
            r"bad certificate|broken pipe|connection closed|connection reset|use of closed network connection"
            r"|handshake"
        ),
        "TLS failed: etcd did not accept the client certificate (--etcd-cert and --etcd-key must be "
        "signed by the CA etcd trusts, e.g. kubeadm's /etc/kubernetes/pki/etcd/ca.crt)",
    ),
    (re.compile(r"permission denied"), "permission denied"),
    (re.compile(r"no space left on device"), "no space left on the device"),
    (re.compile(r"read-only file system"), "a read-only file system"),
    (
        re.compile(r"invalid database|file size too small|not a bolt|unexpected EOF"),
        "not a valid etcd database",
    ),
    (
        re.compile(r"context deadline exceeded"),
        "no answer in time: check the endpoint, and that --etcd-cacert, --etcd-cert and --etcd-key are "
        "those etcd's clients use",
    ),
)


def diagnose(stderr: str) -> str:
    """One line saying why an etcd tool failed, from its (zap JSON) log and its final error line."""
    for pattern, meaning in _DIAGNOSES:
        if pattern.search(stderr):
            return meaning
    lines = [
        line.strip() for line in stderr.splitlines() if line.strip() and not line.lstrip().startswith("{")
    ]
    if lines:
        return lines[-1].removeprefix("Error: ")
    return "failed without a message"


@dataclass(frozen=True)
class EtcdTools:
    etcdctl: str
    etcdutl: str | None = None

    @classmethod
    def find(cls, etcdctl: str | None = None, etcdutl: str | None = None) -> EtcdTools:
        ctl = shutil.which(etcdctl or "etcdctl")
        if ctl is None:
            raise EtcdError(
                f"{etcdctl or 'etcdctl'} is not installed (Debian: apt-get install etcd-client; "
                "or give its path with --etcdctl)"
            )
        utl = shutil.which(etcdutl or "etcdutl")
        if etcdutl is not None and utl is None:
            raise EtcdError(f"{etcdutl}: not found")
        return cls(ctl, utl)

    @property
    def file_tool(self) -> str:
        """The tool for snapshot files: etcdutl (etcd >= 3.5) when installed, else etcdctl."""
        return self.etcdutl or self.etcdctl

    def _run(self, cmd: list[str], what: str, timeout: float) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_environment())
        except subprocess.TimeoutExpired as err:
            raise EtcdError(f"{what}: no answer within {timeout:.0f}s") from err
        except OSError as err:
            raise EtcdError(f"cannot run {cmd[0]}: {err.strerror or err}") from err
        if done.returncode != 0:
            raise EtcdError(f"{what}: {diagnose(done.stderr + done.stdout)}")
        return done.stdout

    def _json(self, cmd: list[str], what: str, timeout: float) -> Any:
        out = self._run(cmd, what, timeout)
        try:
            return orjson.loads(out)
        except orjson.JSONDecodeError as err:
            raise EtcdError(f"{what}: unexpected output from {Path(cmd[0]).name}") from err

    def version(self) -> str:
        """`etcdctl version`'s first line, e.g. `etcdctl version: 3.4.23`."""
        out = self._run([self.etcdctl, "version"], "etcdctl version", 30)
        return out.splitlines()[0].strip() if out.strip() else "etcdctl"

    def endpoint_status(self, options: EtcdOptions) -> JSON:
        """The member's status: version, dbSize, header (cluster_id, member_id, revision)."""
        cmd = [self.etcdctl, *options.flags(), f"--command-timeout={_seconds(options.timeout)}"]
        what = f"cannot reach etcd at {options.endpoint}"
        data = self._json([*cmd, "endpoint", "status", "-w", "json"], what, options.timeout * 2 + 10)
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise EtcdError(f"{what}: unexpected endpoint status")
        status = data[0].get("Status")
        if not isinstance(status, dict):
            raise EtcdError(f"{what}: unexpected endpoint status")
        return status

    def member_list(self, options: EtcdOptions) -> list[JSON]:
        cmd = [self.etcdctl, *options.flags(), f"--command-timeout={_seconds(options.timeout)}"]
        data = self._json(
            [*cmd, "member", "list", "-w", "json"],
            f"cannot list the members of etcd at {options.endpoint}",
            options.timeout * 2 + 10,
        )
        members = data.get("members") if isinstance(data, dict) else None
        return [m for m in members or [] if isinstance(m, dict)]

    def snapshot_save(
        self, options: EtcdOptions, dest: Path, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        """`etcdctl snapshot save`: the member streams its database to `dest.part`, renamed to `dest`
        when complete. `on_bytes` hears how much has arrived, a few times a second."""
        cmd = [self.etcdctl, *options.flags(), f"--command-timeout={_seconds(options.snapshot_timeout)}"]
        cmd += ["snapshot", "save", str(dest)]
        part = Path(f"{dest}.part")
        what = f"the snapshot from etcd at {options.endpoint} failed"
        try:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment()
            )
        except OSError as err:
            raise EtcdError(f"cannot run {cmd[0]}: {err.strerror or err}") from err
        deadline = time.monotonic() + options.snapshot_timeout + 30
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    raise EtcdError(f"{what}: no end within {options.snapshot_timeout:.0f}s")
                if on_bytes is not None:
                    with contextlib.suppress(OSError):
                        on_bytes(part.stat().st_size)
                time.sleep(0.1)
            stdout, stderr = proc.communicate()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            part.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise EtcdError(f"{what}: {diagnose(stderr + stdout)}")
        if not dest.is_file():
            raise EtcdError(f"{what}: etcdctl wrote no file")

    def snapshot_status(self, path: Path) -> JSON:
        """`snapshot status -w json` of a snapshot file: hash, revision, totalKey, totalSize (and,
        from etcdutl, the storage version)."""
        tool = self.file_tool
        data = self._json(
            [tool, "snapshot", "status", str(path), "-w", "json"], f"{path.name} is unreadable", 300
        )
        if not isinstance(data, dict):
            raise EtcdError(f"{path.name}: unexpected snapshot status")
        return data
