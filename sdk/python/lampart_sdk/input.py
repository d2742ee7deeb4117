"""A typed view of one decision's input."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from . import _wit, glob, pointer
from .config import loads
from .model import Finding, Phase, Severity

_UNSET: Any = object()


class RawPrincipal(Protocol):
    """The WIT ``principal`` record, as the host sends it."""

    agent: str
    roles: list[str]
    session: str
    task: str | None


class RawAction(Protocol):
    """The WIT ``action`` record, as the host sends it."""

    tool: str
    args: str
    resource: str | None


class RawFinding(Protocol):
    """The WIT ``finding`` record, as the host sends it."""

    rule: str
    severity: Any
    message: str
    location: str | None


class RawInput(Protocol):
    """The WIT ``input`` record, as the host sends it (``wit_world.imports.types.Input``)."""

    id: str
    phase: Any
    principal: RawPrincipal
    action: RawAction
    output: Any
    grants: list[str]
    labels: list[str]
    findings: list[RawFinding]


def _parse(text: str) -> tuple[Any, str | None]:
    """Parses JSON text: the value and no error, or ``None`` and what is wrong."""
    try:
        return loads(text), None
    except ValueError as err:
        return None, f"not valid JSON: {err}"
    except RecursionError:
        return None, "not valid JSON: nested too deeply"


class Input:
    """Everything a plugin is told about one decision, with the arguments (and a JSON
    answer of the tool) parsed once, when first used.

    The export helpers build one from the host's record for every call; in tests, build
    one with :meth:`Input.build`. Arguments that are not valid JSON never raise: ``args``
    is then ``None`` and ``args_error`` says why.

    >>> i = Input.build("send_money", args={"amount": 120.5, "to": ["acme"]}, roles=["finance"])
    >>> i.arg_number("/amount"), i.arg_str("/to/0"), i.has_role("finance"), i.phase
    (120.5, 'acme', True, <Phase.REQUEST: 'request'>)
    """

    __slots__ = ("raw", "phase", "_args", "_args_error", "_output_json", "_output_error", "_findings")

    def __init__(self, raw: RawInput) -> None:
        """Wraps the host's ``input`` record (``wit_world.imports.types.Input``)."""
        self.raw: RawInput = raw
        """The record as the host sent it."""
        self.phase: Phase = Phase[raw.phase.name]
        """Which pass this is: :attr:`Phase.REQUEST`, ``RESPONSE`` or ``ELEVATION``."""
        # Parsed on first use: a plugin that looks only at the tool's name pays nothing.
        self._args: Any = _UNSET
        self._args_error: str | None = None
        self._output_json: Any = _UNSET
        self._output_error: str | None = None
        self._findings: list[Finding] | None = None

    @classmethod
    def build(
        cls,
        tool: str = "tool",
        *,
        args: Any = _UNSET,
        args_text: str | None = None,
        phase: Phase | str = Phase.REQUEST,
        agent: str = "agent",
        roles: Iterable[str] = (),
        session: str = "session",
        task: str | None = None,
        resource: str | None = None,
        output_text: str | None = None,
        output_json: Any = _UNSET,
        grants: Iterable[str] = (),
        labels: Iterable[str] = (),
        findings: Iterable[Finding] = (),
        id: str = "test",  # noqa: A002 (the record's field)
    ) -> Input:
        """An input for tests: tool ``tool``, request phase, arguments ``{}``, agent
        ``agent`` with no roles, unless told otherwise.

        ``args`` is a JSON-serialisable value; ``args_text`` raw text instead (need not
        be valid JSON). ``output_text`` or ``output_json`` set the tool's answer (a
        text answer, or a JSON one: any JSON value, ``None`` included).
        """
        t = _wit.types
        if args_text is None:
            args_text = json.dumps({} if args is _UNSET else args)
        if output_text is not None:
            output: Any = t.ToolOutput_Text(output_text)
        elif output_json is not _UNSET:
            output = t.ToolOutput_Json(json.dumps(output_json))
        else:
            output = None
        raw = t.Input(
            id=id,
            phase=t.Phase[Phase.parse(phase).name],
            principal=t.Principal(agent=agent, roles=list(roles), session=session, task=task),
            action=t.Action(tool=tool, args=args_text, resource=resource),
            output=output,
            grants=list(grants),
            labels=list(labels),
            findings=[
                t.Finding(f.rule, t.Severity[f.severity.name], f.message, f.location)
                for f in findings
            ],
        )
        return cls(raw)

    # --- who and what ---------------------------------------------------------------

    @property
    def id(self) -> str:
        """The decision's identifier, as recorded in the audit log."""
        return self.raw.id

    @property
    def agent(self) -> str:
        """The agent's identity, e.g. ``billing-bot``."""
        return self.raw.principal.agent

    @property
    def roles(self) -> list[str]:
        """The roles the agent holds."""
        return self.raw.principal.roles

    def has_role(self, role: str) -> bool:
        """Whether the agent holds ``role``."""
        return role in self.raw.principal.roles

    @property
    def session(self) -> str:
        """The conversation or run the action belongs to."""
        return self.raw.principal.session

    @property
    def task(self) -> str | None:
        """The task the agent is working on, when it said."""
        return self.raw.principal.task

    @property
    def tool(self) -> str:
        """The tool's name, e.g. ``send_money``."""
        return self.raw.action.tool

    def tool_matches(self, pattern: str) -> bool:
        """Whether the tool's name matches the glob ``pattern`` (see :mod:`lampart_sdk.glob`)."""
        return glob.matches(pattern, self.raw.action.tool)

    @property
    def resource(self) -> str | None:
        """The resource acted on, when the caller named one."""
        return self.raw.action.resource

    @property
    def grants(self) -> list[str]:
        """The privilege scopes the principal holds right now."""
        return self.raw.grants

    def has_grant(self, scope: str) -> bool:
        """Whether the principal holds ``scope``."""
        return scope in self.raw.grants

    @property
    def labels(self) -> list[str]:
        """The labels on the session, e.g. ``untrusted-content``."""
        return self.raw.labels

    def has_label(self, label: str) -> bool:
        """Whether the session carries ``label``."""
        return label in self.raw.labels

    @property
    def findings(self) -> list[Finding]:
        """What enforcing inspectors earlier in the chain found (policies see these)."""
        if self._findings is None:
            self._findings = [
                Finding(f.rule, Severity[f.severity.name], f.message, f.location)
                for f in self.raw.findings
            ]
        return self._findings

    # --- arguments ------------------------------------------------------------------

    @property
    def args(self) -> Any:
        """The arguments, parsed (a ``dict``); ``None`` when they are not valid JSON."""
        if self._args is _UNSET:
            self._args, self._args_error = _parse(self.raw.action.args)
        return self._args

    @property
    def args_error(self) -> str | None:
        """Why the arguments are not valid JSON, or ``None`` when they are."""
        if self._args is _UNSET:
            self._args, self._args_error = _parse(self.raw.action.args)
        return self._args_error

    @property
    def args_text(self) -> str:
        """The arguments as the host sent them (JSON text)."""
        return self.raw.action.args

    def arg(self, ptr: str, default: Any = None) -> Any:
        """The argument at JSON pointer ``ptr`` (e.g. ``/payee/iban``), or ``default``.

        ``""`` is the whole arguments object. A token of digits only (``/to/0``)
        indexes an array and never names an object member (see :mod:`lampart_sdk.pointer`).
        """
        found = pointer.lookup(self.args, ptr)
        return default if found is pointer.MISSING else found

    def has_arg(self, ptr: str) -> bool:
        """Whether there is a value (``null`` included) at ``ptr``."""
        return pointer.lookup(self.args, ptr) is not pointer.MISSING

    def arg_str(self, ptr: str) -> str | None:
        """The argument at ``ptr`` if it is a string, else ``None``."""
        found = pointer.lookup(self.args, ptr)
        return found if isinstance(found, str) else None

    def arg_number(self, ptr: str) -> int | float | None:
        """The argument at ``ptr`` if it is a number (never a boolean), else ``None``."""
        found = pointer.lookup(self.args, ptr)
        if isinstance(found, (int, float)) and not isinstance(found, bool):
            return found
        return None

    def arg_bool(self, ptr: str) -> bool | None:
        """The argument at ``ptr`` if it is a boolean, else ``None``."""
        found = pointer.lookup(self.args, ptr)
        return found if isinstance(found, bool) else None

    def arg_strings(self) -> list[tuple[str, str]]:
        """Every string value in the arguments, with its JSON pointer, in document order."""
        return pointer.strings(self.args)

    # --- the tool's answer (response phase) -----------------------------------------

    @property
    def output_kind(self) -> str | None:
        """``"text"`` or ``"json"``: how the tool answered; ``None`` without an answer."""
        output = self.raw.output
        if isinstance(output, _wit.types.ToolOutput_Text):
            return "text"
        if isinstance(output, _wit.types.ToolOutput_Json):
            return "json"
        return None

    @property
    def output_text(self) -> str | None:
        """The tool's answer when it answered plain text, else ``None``. A text answer
        stays text even when it reads like JSON.
        """
        output = self.raw.output
        return output.value if isinstance(output, _wit.types.ToolOutput_Text) else None

    def _parse_output(self) -> None:
        output = self.raw.output
        if isinstance(output, _wit.types.ToolOutput_Json):
            self._output_json, self._output_error = _parse(output.value)
        else:
            self._output_json = None

    @property
    def output_json(self) -> Any:
        """The tool's answer, parsed, when it answered JSON, else ``None`` (check
        :attr:`output_kind` to tell a JSON ``null`` from no JSON answer).
        """
        if self._output_json is _UNSET:
            self._parse_output()
        return self._output_json

    @property
    def output_error(self) -> str | None:
        """Why a JSON answer is not valid JSON, or ``None``."""
        if self._output_json is _UNSET:
            self._parse_output()
        return self._output_error

    def output_strings(self) -> list[tuple[str, str]]:
        """Every string in the answer with its pointer: the strings of a JSON answer (a
        bare JSON string at ``""``), or the whole text at ``""`` for a text answer (or a
        JSON answer that does not parse). Empty without an answer.
        """
        output = self.raw.output
        if output is None:
            return []
        if isinstance(output, _wit.types.ToolOutput_Json) and self.output_error is None:
            return pointer.strings(self.output_json)
        return [("", output.value)]

    def strings(self) -> list[tuple[str, str]]:
        """The strings an inspector should look at in this phase, with the pointers its
        findings and redactions should use: the answer's in the response phase, the
        arguments' otherwise.
        """
        if self.phase is Phase.RESPONSE:
            return self.output_strings()
        return self.arg_strings()

    def __repr__(self) -> str:
        return f"Input(tool={self.tool!r}, phase={self.phase.value!r}, agent={self.agent!r})"
