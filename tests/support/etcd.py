"""A real etcd server for tests: Debian's `etcd` on 127.0.0.1, free ports, a temporary data directory.

`EtcdServer(workdir, tls=True)` makes a certificate authority, a server certificate for 127.0.0.1 and
a client certificate (as kubeadm sets etcd up: clients must present a certificate the CA signed),
starts etcd and waits until it answers. `stranger` is a second, unrelated CA with its own client
certificate, for the wrong-certificate tests. `put()` writes keys with etcdctl.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def etcd_binary(name: str) -> str:
    """The path of `etcd`/`etcdctl`; fails (never skips) when missing: `make system-deps` installs them."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"{name} is not installed: run `make system-deps` (Debian's etcd-server, etcd-client)"
        )
    return path


@dataclass(frozen=True)
class Pki:
    """A CA and a client certificate it signed (and, for the server's CA, the server certificate)."""

    ca: Path
    client_cert: Path
    client_key: Path
    server_cert: Path | None = None
    server_key: Path | None = None


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path, *, with_server: bool) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert("test-etcd-ca", ca_key, None, ca_key, ca=True)
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    client_key = _key()
    client = _cert("overhaul-test-client", client_key, ca.subject, ca_key)
    (folder / "client.crt").write_bytes(client.public_bytes(serialization.Encoding.PEM))
    _write_key(folder / "client.key", client_key)
    server_cert = server_key = None
    if with_server:
        key = _key()
        cert = _cert("127.0.0.1", key, ca.subject, ca_key, server=True)
        server_cert, server_key = folder / "server.crt", folder / "server.key"
        server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(server_key, key)
    return Pki(folder / "ca.crt", folder / "client.crt", folder / "client.key", server_cert, server_key)


class EtcdServer:
    """One etcd member on 127.0.0.1 until `stop()`; TLS with client certificates when `tls`."""

    def __init__(self, workdir: Path, *, tls: bool = True, name: str = "test-member") -> None:
        self.workdir = workdir
        self.tls = tls
        self.name = name
        self.pki: Pki | None = None
        self.stranger: Pki | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.client_port = free_port()
        self.peer_port = free_port()
        scheme = "https" if tls else "http"
        self.endpoint = f"{scheme}://127.0.0.1:{self.client_port}"
        self.peer_url = f"http://127.0.0.1:{self.peer_port}"
        self.log_path = workdir / "etcd.log"

    def start(self, timeout: float = 30.0) -> EtcdServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [
            etcd_binary("etcd"),
            "--name",
            self.name,
            "--data-dir",
            str(self.workdir / "data"),
            "--listen-client-urls",
            self.endpoint,
            "--advertise-client-urls",
            self.endpoint,
            "--listen-peer-urls",
            self.peer_url,
            "--initial-advertise-peer-urls",
            self.peer_url,
            "--initial-cluster",
            f"{self.name}={self.peer_url}",
            "--initial-cluster-state",
            "new",
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]
        if self.tls:
            self.pki = make_pki(self.workdir / "pki", with_server=True)
            self.stranger = make_pki(self.workdir / "stranger", with_server=False)
            assert self.pki.server_cert is not None and self.pki.server_key is not None
            cmd += [
                "--cert-file",
                str(self.pki.server_cert),
                "--key-file",
                str(self.pki.server_key),
                "--trusted-ca-file",
                str(self.pki.ca),
                "--client-cert-auth",
            ]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            done = self.etcdctl("endpoint", "health", check=False, timeout=10)
            if done.returncode == 0:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"etcd did not start: {self.log_path.read_text()[-3000:]}")

    def tls_args(self) -> list[str]:
        if self.pki is None:
            return []
        return [f"--cacert={self.pki.ca}", f"--cert={self.pki.client_cert}", f"--key={self.pki.client_key}"]

    def etcdctl(
        self, *args: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        cmd = [etcd_binary("etcdctl"), f"--endpoints={self.endpoint}", *self.tls_args(), *args]
        env = {"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check, env=env)

    def put(self, count: int, prefix: str = "/registry/test/") -> None:
        for i in range(count):
            self.etcdctl("put", f"{prefix}{i:05d}", f"value-{i}" * 8)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
