"""The provider's commands for each node, rendered into the plan so people review what will run.

- exec: the user's templates (`--exec-control-plane`, `--exec-node`) with `{node}`, `{version}`,
  `{zone}` and `{role}` filled in, each value shell-quoted;
- kubeadm: kubeadm's documented procedure over ssh (kubernetes.io "Upgrading kubeadm clusters"):
  point the pkgs.k8s.io repository at the new minor, upgrade the kubeadm package, `kubeadm upgrade
  apply` on the first control-plane node of a hop and `kubeadm upgrade node` on the others and on
  workers, then the kubelet and kubectl packages and a kubelet restart (apply drains the node
  first and waits for Ready after);
- sim: nothing (the embedded cluster's kubelets upgrade through a Node annotation).
"""

from __future__ import annotations

import shlex
import string

from overhaul.domain.plan import ProviderName, ProviderSpec, Role

PLACEHOLDERS = ("node", "version", "zone", "role")
PACKAGE_MANAGERS = ("apt", "yum")


class TemplateError(ValueError):
    """A command template with a placeholder that is not one of PLACEHOLDERS, or malformed."""


def check_template(template: str) -> None:
    """Raises TemplateError unless every `{...}` is a known placeholder (`{{`/`}}` for braces)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise TemplateError(f"{template!r}: {err} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise TemplateError(f"{template!r}: unknown placeholder {{{name}}} (use {known})")
    if not template.strip():
        raise TemplateError("an empty command")


def render(template: str, *, node: str, version: str, zone: str, role: Role) -> str:
    values = {"node": node, "version": version, "zone": zone, "role": role.value}
    return template.format_map({k: shlex.quote(v) for k, v in values.items()})


def _ssh(user: str, host: str, remote: str) -> str:
    target = f"{user}@{host}" if user else host
    return f"ssh -o BatchMode=yes {shlex.quote(target)} {shlex.quote(remote)}"


def _package(version: str) -> str:
    """`v1.35.4` → `1.35.4` (packages are named without the v)."""
    return version.removeprefix("v")


def kubeadm_commands(
    spec: ProviderSpec, *, host: str, version: str, role: Role, first: bool, new_minor: bool
) -> tuple[str, ...]:
    """kubeadm's procedure for one node, each line one ssh command run in order."""
    plain = _package(version)
    minor = ".".join(plain.split(".")[:2])
    if spec.package_manager == "yum":
        repo = "/etc/yum.repos.d/kubernetes.repo"
        install = "sudo yum install -y --disableexcludes=kubernetes"
        kubeadm = f'{install} "kubeadm-{plain}-*"'
        rest = f'{install} "kubelet-{plain}-*" "kubectl-{plain}-*"'
        refresh: list[str] = []
    else:
        repo = "/etc/apt/sources.list.d/kubernetes.list"
        kubeadm = (
            f'sudo apt-mark unhold kubeadm && sudo apt-get install -y "kubeadm={plain}-*" '
            "&& sudo apt-mark hold kubeadm"
        )
        rest = (
            f'sudo apt-mark unhold kubelet kubectl && sudo apt-get install -y "kubelet={plain}-*" '
            f'"kubectl={plain}-*" && sudo apt-mark hold kubelet kubectl'
        )
        refresh = ["sudo apt-get update"]
    remote: list[str] = []
    if new_minor:
        remote.append(f'sudo sed -i "s#/v[0-9]*[.][0-9]*/#/v{minor}/#" {repo}')
    remote.extend(refresh)
    remote.append(kubeadm)
    if role is Role.CONTROL_PLANE and first:
        remote.append(f"sudo kubeadm upgrade apply -y {version}")
    else:
        remote.append("sudo kubeadm upgrade node")
    remote.append(rest)
    remote.append("sudo systemctl daemon-reload && sudo systemctl restart kubelet")
    return tuple(_ssh(spec.ssh_user, host, line) for line in remote)


def node_commands(
    spec: ProviderSpec,
    *,
    node: str,
    host: str,
    version: str,
    zone: str,
    role: Role,
    first: bool = False,
    new_minor: bool = True,
) -> tuple[str, ...]:
    """What the provider runs to upgrade one node (or, with `node` "", a managed control plane)."""
    if spec.name is ProviderName.EXEC:
        template = spec.control_plane_command if role is Role.CONTROL_PLANE else spec.node_command
        return (render(template, node=node, version=version, zone=zone, role=role),)
    if spec.name is ProviderName.KUBEADM:
        return kubeadm_commands(
            spec, host=host or node, version=version, role=role, first=first, new_minor=new_minor
        )
    return ()
