"""Command templates: `ansible-playbook upgrade.yml -l {node} -e version={version}`.

Placeholders are Python format fields with a name only (no `!r`, no `:spec`, no `{node.x}`);
`{{` and `}}` are literal braces. Known names: see `PLACEHOLDERS`.

Two ways to run a template, chosen explicitly (`shell: true` in the provider's settings):

- argv (the default): the template is split into words with shlex, as a POSIX shell would split it
  (quotes group words), and only then are placeholders filled in, inside each word. A value is
  never split or interpreted, whatever it contains: a node named `a;rm -rf /` stays one argument.
- shell: the template is one `/bin/sh -c` line (pipes, `&&`, redirections), and every value is
  inserted shell-quoted (shlex.quote), so values still cannot change the line's meaning.
"""

from __future__ import annotations

import shlex
import string
from collections.abc import Mapping

from overhaul.domain.version import Version
from overhaul.providers.base import ProviderConfigError, Target, exact_version

PLACEHOLDERS: Mapping[str, str] = {
    "node": "the node's name",
    "version": "the target version, v1.35.0",
    "version_number": "the target version without the v, 1.35.0",
    "minor": "the target minor, 1.35",
    "zone": "the node's topology.kubernetes.io/zone label (empty when none)",
    "role": "control-plane or worker",
    "address": "the node's InternalIP (or host name)",
}
SHELL = "/bin/sh"


def check_template(text: str, what: str) -> None:
    """Raises ProviderConfigError naming `what` when `text` has an unknown or unusable placeholder."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as err:  # a single `{` or `}`
        raise ProviderConfigError(
            f"{what}: {err} in {text!r} (write {{{{ and }}}} for literal braces)"
        ) from err
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name == "":
            raise ProviderConfigError(f"{what}: an empty placeholder {{}} in {text!r}")
        if name not in PLACEHOLDERS:
            raise ProviderConfigError(
                f"{what}: unknown placeholder {{{name}}} in {text!r} "
                f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
            )
        if spec or conversion:
            raise ProviderConfigError(
                f"{what}: placeholder {{{name}}} takes no format or conversion in {text!r}"
            )


class CommandTemplate:
    """A validated command template, rendered per node into an argv."""

    def __init__(self, text: str, *, shell: bool = False, what: str = "command") -> None:
        if not text.strip():
            raise ProviderConfigError(f"{what}: an empty command")
        self.text = text
        self.shell = shell
        self.what = what
        check_template(text, what)
        if shell:
            self.words: tuple[str, ...] = ()
        else:
            try:
                self.words = tuple(shlex.split(text))
            except ValueError as err:
                raise ProviderConfigError(f"{what}: {err} in {text!r}") from err
            for word in self.words:  # quoting may have split a placeholder: check each word again
                check_template(word, what)

    def render(self, values: Mapping[str, str]) -> list[str]:
        """The argv for these placeholder values."""
        missing = set(PLACEHOLDERS) - set(values)
        if missing:
            raise ValueError(f"no value for {', '.join(sorted(missing))}")
        if self.shell:
            return [SHELL, "-c", self.text.format(**{k: shlex.quote(v) for k, v in values.items()})]
        return [word.format(**values) for word in self.words]


def placeholder_values(target: Target, version: Version) -> dict[str, str]:
    """The value of every placeholder for upgrading `target` to `version` (an exact version)."""
    full = exact_version(version)
    return {
        "node": target.name,
        "version": full,
        "version_number": full[1:],
        "minor": f"{version.major}.{version.minor}",
        "zone": target.zone,
        "role": target.role,
        "address": target.address,
    }
