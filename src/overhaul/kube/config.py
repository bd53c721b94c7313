"""Connection settings, resolved the way kubectl resolves them.

Order (client-go's `ClientConfigLoadingRules`):

1. `--kubeconfig PATH`: that file alone; it must exist.
2. the `KUBECONFIG` variable: a list of files separated by `os.pathsep` (":"), merged as kubectl
   merges them: the first file to define a cluster, user or context name wins, and the first
   `current-context` set wins; files that do not exist are skipped.
3. `~/.kube/config`.
4. with none of these (or only empty ones), the in-cluster service account of a pod
   (`KUBERNETES_SERVICE_HOST`/`_PORT` and /var/run/secrets/kubernetes.io/serviceaccount).

`--context NAME` picks a context, else the `current-context`. Relative file paths in a kubeconfig
(certificate-authority, client-certificate, client-key, tokenFile, an exec command with a
directory part) are relative to the file that holds them, as kubectl resolves them before merging.

Parsing and credentials are lightkube's (`KubeConfig.from_dict`, its models, and the TLS and
auth helpers of `lightkube.config.client_adapter`): bearer tokens, token files re-read on 401,
client certificates, basic auth and exec credential plugins. Not supported (lightkube's models
do not carry them): `auth-provider` (the long-removed gcp/azure/oidc plugins), `tls-server-name`
and `proxy-url` (`HTTPS_PROXY` from the environment is honoured).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml
from lightkube.config.kubeconfig import SERVICE_ACCOUNT, KubeConfig, SingleConfig
from lightkube.config.models import Cluster, Context, User
from lightkube.core.exceptions import ConfigError as LightkubeConfigError

from overhaul.kube.errors import ConfigError


@dataclass(frozen=True)
class Connection:
    """The resolved settings for one cluster: lightkube's SingleConfig and where it came from."""

    config: SingleConfig
    source: str  # the kubeconfig file(s), or "in-cluster service account"

    @property
    def context(self) -> str:
        return self.config.context_name

    @property
    def server(self) -> str:
        return self.config.cluster.server

    @property
    def namespace(self) -> str:
        return self.config.namespace


def resolve_connection(
    kubeconfig: str | os.PathLike[str] | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT,
) -> Connection:
    """The connection kubectl would use with these `--kubeconfig` and `--context` options.

    Raises ConfigError (one line) when there is none: a missing or malformed file, an unknown
    context, a context naming a cluster or user that is not defined.
    """
    env = os.environ if environ is None else environ
    if kubeconfig is not None and str(kubeconfig) != "":
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise ConfigError(f"kubeconfig {path}: no such file")
        files = [path]
        source = str(path)
    elif env.get("KUBECONFIG"):
        listed = _dedupe(Path(p).expanduser() for p in env["KUBECONFIG"].split(os.pathsep) if p)
        files = [p for p in listed if p.is_file()]
        source = f"KUBECONFIG={env['KUBECONFIG']}"
    else:
        home = Path(env.get("HOME") or Path.home())
        default = home / ".kube" / "config"
        files = [default] if default.is_file() else []
        source = str(default)
    merged = merge_kubeconfigs(files) if files else None
    if merged is None or not merged.contexts:
        if context is None:
            in_cluster = _in_cluster(env, Path(service_account_dir))
            if in_cluster is not None:
                return in_cluster
        if merged is None:
            raise ConfigError(
                f"no kubeconfig found ({source}) and not running in a cluster: "
                "pass --kubeconfig or set KUBECONFIG"
            )
    return Connection(select_context(merged, context, source), source)


def select_context(config: KubeConfig, context: str | None, source: str = "the kubeconfig") -> SingleConfig:
    """The SingleConfig of `context` (or of the current context), with one-line errors."""
    name = context if context is not None else config.current_context
    known = ", ".join(sorted(config.contexts)) or "none"
    if not name:
        raise ConfigError(f"{source} sets no current-context: pass --context (contexts: {known})")
    ctx = config.contexts.get(name)
    if ctx is None:
        raise ConfigError(f"context {name!r} not found in {source} (contexts: {known})")
    if ctx.cluster not in config.clusters:
        raise ConfigError(
            f"context {name!r} refers to cluster {ctx.cluster!r}, which {source} does not define"
        )
    if ctx.user and ctx.user not in config.users:
        raise ConfigError(f"context {name!r} refers to user {ctx.user!r}, which {source} does not define")
    try:
        single = config.get(context_name=name)
    except LightkubeConfigError as err:
        raise ConfigError(f"{source}: {err}") from err
    assert single is not None
    return single


def merge_kubeconfigs(files: Sequence[Path]) -> KubeConfig:
    """The kubeconfig of several files merged as kubectl merges them (first definition wins)."""
    clusters: dict[str, Cluster] = {}
    contexts: dict[str, Context] = {}
    users: dict[str, User] = {}
    current: str | None = None
    for path in files:
        one = read_kubeconfig(path)
        for name, cluster in one.clusters.items():
            clusters.setdefault(name, cluster)
        for name, ctx in one.contexts.items():
            contexts.setdefault(name, ctx)
        for name, user in one.users.items():
            users.setdefault(name, user)
        if not current and one.current_context:
            current = one.current_context
    return KubeConfig(
        clusters=clusters,
        contexts=contexts,
        users=users,
        current_context=current,
        fname=files[0] if files else None,
    )


def read_kubeconfig(path: Path) -> KubeConfig:
    """One kubeconfig file, with its relative paths made absolute; ConfigError when malformed."""
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"kubeconfig {path}: {err.strerror or err}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"kubeconfig {path}: malformed YAML{where}: {problem}") from err
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"kubeconfig {path}: not a kubeconfig (expected a mapping, got {type(data).__name__})"
        )
    for key in ("clusters", "contexts", "users"):
        entries = data.get(key)
        if entries is None:
            data[key] = []
        elif not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get(key[:-1]), dict)
            for e in entries
        ):
            raise ConfigError(f"kubeconfig {path}: {key} must be a list of {{name, {key[:-1]}}} entries")
    try:
        config = KubeConfig.from_dict(data, fname=path)
    except (msgspec.ValidationError, LightkubeConfigError, KeyError, TypeError) as err:
        raise ConfigError(f"kubeconfig {path}: {err}") from err
    base = path.resolve().parent
    return KubeConfig(
        clusters={n: _absolute_cluster(c, base) for n, c in config.clusters.items()},
        contexts=config.contexts,
        users={n: _absolute_user(u, base) for n, u in config.users.items()},
        current_context=config.current_context,
        fname=path,
    )


def _absolute(value: str | None, base: Path) -> str | None:
    if not value:
        return value
    expanded = Path(value).expanduser()
    return str(expanded if expanded.is_absolute() else base / expanded)


def _absolute_cluster(cluster: Cluster, base: Path) -> Cluster:
    if not cluster.certificate_auth:
        return cluster
    return msgspec.structs.replace(cluster, certificate_auth=_absolute(cluster.certificate_auth, base))


def _absolute_user(user: User, base: Path) -> User:
    changes: dict[str, Any] = {}
    for attr in ("client_cert", "client_key", "token_file"):
        value = getattr(user, attr)
        if value:
            changes[attr] = _absolute(value, base)
    if user.exec is not None and os.sep in user.exec.command and not os.path.isabs(user.exec.command):
        changes["exec"] = msgspec.structs.replace(user.exec, command=str(base / user.exec.command))
    return msgspec.structs.replace(user, **changes) if changes else user


def _in_cluster(env: Mapping[str, str], account_dir: Path) -> Connection | None:
    """The pod's service account, when this runs in a pod (as client-go's InClusterConfig)."""
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    token_file = account_dir / "token"
    if not host or not port or not token_file.is_file():
        return None
    if ":" in host:
        host = f"[{host}]"
    namespace_file = account_dir / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.is_file() else None
    ca_file = account_dir / "ca.crt"
    config = KubeConfig.from_one(
        cluster=Cluster(
            server=f"https://{host}:{port}",
            certificate_auth=str(ca_file) if ca_file.is_file() else None,
        ),
        # token_file: lightkube re-reads it on 401, as the kubelet rotates projected tokens.
        user=User(token_file=str(token_file)),
        context_name="in-cluster",
        namespace=namespace,
    )
    single = config.get()
    assert single is not None
    return Connection(single, "in-cluster service account")


def _dedupe(paths: Any) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen
