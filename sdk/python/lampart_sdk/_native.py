"""Stand-ins for the bindings componentize-py generates, for running outside a component.

Inside a component the SDK uses the generated modules ``wit_world.imports.types`` and
``wit_world.imports.host``. Anywhere else (unit tests under plain ``python3``) it uses
the classes and functions below instead: they have the same names and fields as the
generated ones, and the host functions read settings from, and write log lines to,
an in-memory store that :mod:`lampart_sdk.testing` fills and reads.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import Enum


class _Types:
    """The WIT ``types`` interface, shaped like ``wit_world.imports.types``."""

    class Phase(Enum):
        """Which pass through the chain a decision belongs to."""

        REQUEST = 0
        RESPONSE = 1
        ELEVATION = 2

    class Severity(Enum):
        """How serious a finding is."""

        INFO = 0
        LOW = 1
        MEDIUM = 2
        HIGH = 3
        CRITICAL = 4

    @dataclass
    class Principal:
        """Who is acting."""

        agent: str
        roles: list[str]
        session: str
        task: str | None

    @dataclass
    class Action:
        """The tool call under decision; ``args`` is JSON text."""

        tool: str
        args: str
        resource: str | None

    @dataclass
    class Finding:
        """Something a plugin noticed."""

        rule: str
        severity: _Types.Severity
        message: str
        location: str | None

    @dataclass
    class Redaction:
        """A change an inspector asks for in what is passed on."""

        location: str
        find: str | None
        replacement: str

    @dataclass
    class ToolOutput_Text:  # noqa: N801 (the generated name)
        """A plain-text answer."""

        value: str

    @dataclass
    class ToolOutput_Json:  # noqa: N801 (the generated name)
        """A JSON answer, as JSON text."""

        value: str

    @dataclass
    class Input:
        """Everything a plugin is told about one decision."""

        id: str
        phase: _Types.Phase
        principal: _Types.Principal
        action: _Types.Action
        output: _Types.ToolOutput_Text | _Types.ToolOutput_Json | None
        grants: list[str]
        labels: list[str]
        findings: list[_Types.Finding]

    @dataclass
    class Verdict_Allow:  # noqa: N801 (the generated name)
        """The action may go ahead."""

    @dataclass
    class Verdict_Deny:  # noqa: N801 (the generated name)
        """The action must not go ahead, for the reason in ``value``."""

        value: str

    @dataclass
    class Verdict_Require:  # noqa: N801 (the generated name)
        """The action needs every scope in ``value``."""

        value: list[str]

    @dataclass
    class Verdict_Abstain:  # noqa: N801 (the generated name)
        """No opinion."""

    @dataclass
    class Decision:
        """What a policy returns."""

        verdict: object
        findings: list[_Types.Finding]
        labels: list[str]

    @dataclass
    class Inspection:
        """What an inspector returns."""

        findings: list[_Types.Finding]
        labels: list[str]
        redactions: list[_Types.Redaction]

    @dataclass
    class Info:
        """What a plugin says about itself."""

        name: str
        version: str
        phases: list[_Types.Phase]
        tools: list[str]


types = _Types


@dataclass
class _Store:
    """The settings and log lines of the in-memory host."""

    settings: dict[str, str] = field(default_factory=dict)
    logs: list[tuple[str, str]] = field(default_factory=list)
    echo: bool = True


STORE = _Store()


class _Host:
    """The WIT ``host`` interface, shaped like ``wit_world.imports.host``."""

    class Level(Enum):
        """How important a log line is."""

        DEBUG = 0
        INFO = 1
        WARN = 2
        ERROR = 3

    @staticmethod
    def log(level: _Host.Level, message: str) -> None:
        """Records one line (and echoes it to standard error unless turned off)."""
        name = level.name.lower()
        STORE.logs.append((name, message))
        if STORE.echo:
            print(f"[{name}] {message}", file=sys.stderr)

    @staticmethod
    def setting(key: str) -> str | None:
        """One setting's raw text, if set."""
        return STORE.settings.get(key)

    @staticmethod
    def setting_keys() -> list[str]:
        """The keys that are set, sorted."""
        return sorted(STORE.settings)


host = _Host
