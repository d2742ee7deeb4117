"""What a plugin returns: findings, redactions, decisions, inspections, and its info.

These are plain Python classes; the export helpers of :mod:`lampart_sdk.export` turn
them into the WIT records when the host calls the plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum


class Severity(IntEnum):
    """How serious a finding is, ordered: ``Severity.INFO < ... < Severity.CRITICAL``.

    A chain denies when an enforcing step reports a finding at or above its
    ``deny-at`` severity (``high`` by default); ``info`` findings never deny.
    """

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, name: str | Severity) -> Severity:
        """The severity named ``name`` (``info`` ... ``critical``, any case).

        Raises :class:`ValueError` naming the input and the accepted names.

        >>> Severity.parse("High")
        <Severity.HIGH: 3>
        """
        if isinstance(name, Severity):
            return name
        if isinstance(name, str):
            member = cls.__members__.get(name.upper())
            if member is not None:
                return member
        raise ValueError(
            f"unknown severity `{name}` (expected info, low, medium, high or critical)"
        )

    def __str__(self) -> str:
        return self.name.lower()


class Phase(Enum):
    """Which pass through the chain a decision belongs to."""

    REQUEST = "request"
    """An agent wants to call a tool; the arguments say with what."""
    RESPONSE = "response"
    """The tool has answered; the output holds its answer, on its way to the agent."""
    ELEVATION = "elevation"
    """An agent asks to be granted more privileges for a task."""

    @classmethod
    def parse(cls, name: str | Phase) -> Phase:
        """The phase named ``name`` (``request``, ``response``, ``elevation``, any case).

        Raises :class:`ValueError` naming the input and the accepted names.
        """
        if isinstance(name, Phase):
            return name
        if isinstance(name, str):
            member = cls.__members__.get(name.upper())
            if member is not None:
                return member
        raise ValueError(f"unknown phase `{name}` (expected request, response or elevation)")

    def __str__(self) -> str:
        return self.value


def _strings(items: str | Iterable[str]) -> list[str]:
    """A list of strings; a single string stands for a list of one."""
    if isinstance(items, str):
        return [items]
    return list(items)


@dataclass(frozen=True)
class Finding:
    """Something a plugin noticed.

    ``rule`` is a stable identifier (``shell.recursive-delete``), ``message`` one line
    for a human, ``location`` a JSON pointer into the arguments (request phase) or the
    output (response phase). ``severity`` may be given by name (``"high"``).

    >>> Finding.high("payments.payee", "payee not on the list").at("/payee")
    Finding(rule='payments.payee', severity=<Severity.HIGH: 3>, message='payee not on the list', location='/payee')
    """

    rule: str
    severity: Severity
    message: str
    location: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity.parse(self.severity))

    def at(self, pointer: str) -> Finding:
        """A copy located at ``pointer`` (e.g. ``/cmd``)."""
        return replace(self, location=pointer)

    @classmethod
    def info(cls, rule: str, message: str, location: str | None = None) -> Finding:
        """An ``info`` finding: worth recording, never a reason to deny."""
        return cls(rule, Severity.INFO, message, location)

    @classmethod
    def low(cls, rule: str, message: str, location: str | None = None) -> Finding:
        """A ``low`` finding: unusual but most likely harmless."""
        return cls(rule, Severity.LOW, message, location)

    @classmethod
    def medium(cls, rule: str, message: str, location: str | None = None) -> Finding:
        """A ``medium`` finding: suspicious, worth a look."""
        return cls(rule, Severity.MEDIUM, message, location)

    @classmethod
    def high(cls, rule: str, message: str, location: str | None = None) -> Finding:
        """A ``high`` finding: probably harmful (denies at the default ``deny-at``)."""
        return cls(rule, Severity.HIGH, message, location)

    @classmethod
    def critical(cls, rule: str, message: str, location: str | None = None) -> Finding:
        """A ``critical`` finding: harmful."""
        return cls(rule, Severity.CRITICAL, message, location)


def low(rule: str, message: str, location: str | None = None) -> Finding:
    """A ``low`` finding (see :meth:`Finding.low`)."""
    return Finding(rule, Severity.LOW, message, location)


def medium(rule: str, message: str, location: str | None = None) -> Finding:
    """A ``medium`` finding (see :meth:`Finding.medium`)."""
    return Finding(rule, Severity.MEDIUM, message, location)


def high(rule: str, message: str, location: str | None = None) -> Finding:
    """A ``high`` finding (see :meth:`Finding.high`)."""
    return Finding(rule, Severity.HIGH, message, location)


def critical(rule: str, message: str, location: str | None = None) -> Finding:
    """A ``critical`` finding (see :meth:`Finding.critical`)."""
    return Finding(rule, Severity.CRITICAL, message, location)


@dataclass(frozen=True, kw_only=True)
class Redaction:
    """A change an inspector asks for in what is passed on; make one with
    :meth:`Redaction.whole` or :meth:`Redaction.text` (the constructor takes keywords
    only: ``Redaction(location=..., find=..., replacement=...)``).

    ``location`` is a JSON pointer to a string in the arguments (request phase) or the
    output (response phase); ``""`` names a whole plain-text output. With ``find``,
    every occurrence of that text within the string is replaced; without it, the whole
    string.
    """

    location: str
    replacement: str
    find: str | None = None

    @classmethod
    def whole(cls, location: str, replacement: str) -> Redaction:
        """Replace the whole string at ``location`` with ``replacement``."""
        return cls(location=location, replacement=replacement)

    @classmethod
    def text(cls, location: str, find: str, replacement: str) -> Redaction:
        """Replace every occurrence of ``find`` in the string at ``location``."""
        return cls(location=location, find=find, replacement=replacement)


_VERDICTS = ("allow", "deny", "require", "abstain")


@dataclass
class Decision:
    """What a policy returns: a verdict, and findings and labels that explain it.

    Build one with :func:`allow`, :func:`deny`, :func:`require` or :func:`abstain`.
    ``verdict`` is ``"allow"``, ``"deny"`` (with ``reason``), ``"require"`` (with
    ``scopes``) or ``"abstain"``.
    """

    verdict: str
    reason: str | None = None
    scopes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.verdict not in _VERDICTS:
            raise ValueError(
                f"unknown verdict `{self.verdict}` (expected allow, deny, require or abstain)"
            )

    def with_finding(self, finding: Finding) -> Decision:
        """Adds a finding; returns the decision."""
        self.findings.append(finding)
        return self

    def with_findings(self, findings: Iterable[Finding]) -> Decision:
        """Adds findings; returns the decision."""
        self.findings.extend(findings)
        return self

    def with_label(self, label: str) -> Decision:
        """Adds a label to put on the session; returns the decision."""
        self.labels.append(label)
        return self

    def with_labels(self, labels: str | Iterable[str]) -> Decision:
        """Adds labels to put on the session; returns the decision."""
        self.labels.extend(_strings(labels))
        return self

    @property
    def is_allow(self) -> bool:
        """Whether the verdict is ``allow``."""
        return self.verdict == "allow"

    @property
    def is_deny(self) -> bool:
        """Whether the verdict is ``deny``."""
        return self.verdict == "deny"

    @property
    def is_require(self) -> bool:
        """Whether the verdict is ``require``."""
        return self.verdict == "require"

    @property
    def is_abstain(self) -> bool:
        """Whether the verdict is ``abstain``."""
        return self.verdict == "abstain"


def allow(findings: Iterable[Finding] = (), labels: str | Iterable[str] = ()) -> Decision:
    """The action may go ahead, as far as this policy is concerned."""
    return Decision("allow", findings=list(findings), labels=_strings(labels))


def deny(
    reason: str, findings: Iterable[Finding] = (), labels: str | Iterable[str] = ()
) -> Decision:
    """The action must not go ahead; ``reason`` is shown to the agent and the operator."""
    return Decision("deny", reason=reason, findings=list(findings), labels=_strings(labels))


def require(
    scopes: str | Iterable[str],
    findings: Iterable[Finding] = (),
    labels: str | Iterable[str] = (),
) -> Decision:
    """The action may go ahead only if the principal holds every one of ``scopes``
    (one scope may be given as a string).
    """
    return Decision(
        "require", scopes=_strings(scopes), findings=list(findings), labels=_strings(labels)
    )


def abstain(findings: Iterable[Finding] = (), labels: str | Iterable[str] = ()) -> Decision:
    """No opinion on this action."""
    return Decision("abstain", findings=list(findings), labels=_strings(labels))


@dataclass
class Inspection:
    """What an inspector returns: what it found, labels for the session, and
    redactions to make in what is passed on.

    >>> out = Inspection()
    >>> out.with_finding(Finding.critical("secrets.aws-key", "AWS key", "/body")).with_redaction(
    ...     Redaction.whole("/body", "[REDACTED:aws-key]")).max_severity()
    <Severity.CRITICAL: 4>
    """

    findings: list[Finding] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    redactions: list[Redaction] = field(default_factory=list)

    def with_finding(self, finding: Finding) -> Inspection:
        """Adds a finding; returns the inspection."""
        self.findings.append(finding)
        return self

    def with_findings(self, findings: Iterable[Finding]) -> Inspection:
        """Adds findings; returns the inspection."""
        self.findings.extend(findings)
        return self

    def with_label(self, label: str) -> Inspection:
        """Adds a label unless it is already there; returns the inspection."""
        if label not in self.labels:
            self.labels.append(label)
        return self

    def with_labels(self, labels: str | Iterable[str]) -> Inspection:
        """Adds labels not already there; returns the inspection."""
        for label in _strings(labels):
            self.with_label(label)
        return self

    def with_redaction(self, redaction: Redaction) -> Inspection:
        """Adds a redaction; returns the inspection."""
        self.redactions.append(redaction)
        return self

    def with_redactions(self, redactions: Iterable[Redaction]) -> Inspection:
        """Adds redactions; returns the inspection."""
        self.redactions.extend(redactions)
        return self

    @property
    def is_empty(self) -> bool:
        """Whether nothing was found, labelled or redacted."""
        return not (self.findings or self.labels or self.redactions)

    def max_severity(self) -> Severity | None:
        """The most serious finding's severity, or ``None`` without findings."""
        return max((f.severity for f in self.findings), default=None)


@dataclass
class Info:
    """What a plugin says about itself, from ``describe()``.

    ``phases`` are the phases it wants to see (default: the request phase; names or
    :class:`Phase` members), ``tools`` the tool-name globs (default: every tool). A
    chain step may narrow both further.
    """

    name: str
    version: str
    phases: Sequence[Phase | str] = (Phase.REQUEST,)
    tools: Sequence[str] = ("*",)

    def __post_init__(self) -> None:
        phases = [self.phases] if isinstance(self.phases, (str, Phase)) else self.phases
        self.phases = [Phase.parse(p) for p in phases]
        self.tools = _strings(self.tools)
