"""Exporting a plugin: one function (and a description) becomes the class that
componentize-py exports.

componentize-py looks for a class named ``WitWorld`` in the module it builds, with one
method per export of the world. Write the plugin as functions and bind the name::

    WitWorld = export_inspector(inspect, describe)      # world `inspector`
    WitWorld = export_policy(evaluate, describe)        # world `policy`

Failing closed: when the plugin's function raises (or returns something that is not
an :class:`~lampart_sdk.Inspection` / :class:`~lampart_sdk.Decision`), the exception
and its traceback are logged at ``error`` level in one line of the host's log (see
:func:`failure_report`), and the call traps: Lampart denies, and shows that line as the
step's error. Outside a component the exception is raised again instead.
"""

from __future__ import annotations

import linecache
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from . import _wit
from .config import SettingError
from .input import Input
from .model import Decision, Finding, Info, Inspection, Phase, Redaction

DescribeArg = Info | Callable[[], Info]

MAX_REPORT_BYTES = 1000
"""Longest failure report logged, in UTF-8 bytes: Lampart keeps log lines of up to 1 KiB."""


def _summary(exc: BaseException) -> str:
    """``Type: message`` on one line, as the last line of a Python traceback."""
    said = " ".join(str(exc).split("\n")).strip()
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


def failure_report(exc: BaseException, limit: int = MAX_REPORT_BYTES) -> str:
    """What is logged when the plugin raises ``exc``: the exception (``Type: message``)
    on the first line, then the frames of its traceback as Python prints them (without
    the SDK's own frames, and without the ``^^^`` markers, which cost much fuel to
    compute), then the exception it was raised from or while handling, if any. When the
    report is longer than ``limit`` bytes, outer frames are left out (``…``) so that the
    innermost ones are kept.
    """
    summary = _summary(exc)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals.get("__name__") == __name__:
        tb = tb.tb_next  # the SDK's wrapper: not the plugin's business
    frames: list[str] = []
    for frame in traceback.extract_tb(tb):
        text = f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
        if frame.line:
            text += f"\n    {frame.line.strip()}"
        frames.append(text)
    tail: list[str] = []
    if exc.__cause__ is not None:
        tail.append(f"raised from {_summary(exc.__cause__)}")
    elif exc.__context__ is not None and not exc.__suppress_context__:
        tail.append(f"raised while handling {_summary(exc.__context__)}")
    head = [summary, "Traceback (most recent call last):"]
    report = "\n".join(head + frames + tail)
    while len(report.encode("utf-8")) > limit and frames:
        frames.pop(0)
        report = "\n".join(head + ["  …"] + frames + tail)
    if len(report.encode("utf-8")) > limit:
        report = report.encode("utf-8")[: limit - 3].decode("utf-8", "ignore") + "…"
    return report


def _guard(call: Callable[[], Any]) -> Any:
    """Runs ``call``; on any exception logs it at error level and fails: inside a
    component the call traps (the host then denies), outside one the exception is
    raised again.

    A :class:`~lampart_sdk.SettingError` is a mistake in the chain config, not in the
    plugin: its one-line message is the error line, and its traceback goes to the log at
    debug level. Any other exception is logged as :func:`failure_report`.
    """
    try:
        return call()
    except BaseException as exc:
        host = _wit.host
        try:
            if isinstance(exc, SettingError):
                host.log(host.Level.DEBUG, failure_report(exc))
                host.log(host.Level.ERROR, str(exc))
            else:
                host.log(host.Level.ERROR, failure_report(exc))
        except BaseException:  # never hide the plugin's own exception
            pass
        if _wit.IN_COMPONENT:
            # Trap at once: letting the exception out would make the runtime print the
            # whole traceback again to standard error, at several million units of fuel.
            os.abort()
        raise


def keep_sources(*functions: Callable[..., Any]) -> None:
    """Keeps the source lines of the modules defining ``functions``, and of every module
    loaded from the same folders, for tracebacks.

    A component has no files when it runs, so a traceback would show file names and
    line numbers only. componentize-py runs the plugin's module when it builds the
    component, while the files are still there: the export helpers call this then, and
    the lines are part of the built component. Outside a component it does nothing.
    """
    if not _wit.IN_COMPONENT:
        return
    folders = set()
    for function in functions:
        module = sys.modules.get(getattr(function, "__module__", "") or "")
        path = getattr(module, "__file__", None)
        if path:
            folders.add(os.path.dirname(path))
    folders.add(os.path.dirname(__file__))
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or os.path.dirname(path) not in folders or path in linecache.cache:
            continue
        try:
            with open(path, encoding="utf-8") as source:
                lines = source.readlines()
        except (OSError, UnicodeDecodeError):
            continue
        # No modification time: linecache then never looks for the file again.
        linecache.cache[path] = (sum(map(len, lines)), None, lines, path)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _texts(values: Any, what: str) -> list[str]:
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} must be a list of strings, not {type(values).__name__}")
    return [_text(v, f"each of {what}") for v in values]


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _wit_finding(finding: Any) -> Any:
    if not isinstance(finding, Finding):
        raise TypeError(f"findings must be Finding objects, not {type(finding).__name__}")
    t = _wit.types
    return t.Finding(
        _text(finding.rule, "a finding's rule"),
        t.Severity[finding.severity.name],
        _text(finding.message, "a finding's message"),
        _optional_text(finding.location, "a finding's location"),
    )


def _wit_redaction(redaction: Any) -> Any:
    if not isinstance(redaction, Redaction):
        raise TypeError(f"redactions must be Redaction objects, not {type(redaction).__name__}")
    return _wit.types.Redaction(
        _text(redaction.location, "a redaction's location"),
        _optional_text(redaction.find, "a redaction's find"),
        _text(redaction.replacement, "a redaction's replacement"),
    )


def to_wit_info(info: Any) -> Any:
    """``info`` as the WIT ``info`` record (raises ``TypeError`` if it is not an :class:`Info`)."""
    if not isinstance(info, Info):
        raise TypeError(f"describe must return an Info, not {type(info).__name__}")
    t = _wit.types
    return t.Info(
        _text(info.name, "the plugin's name"),
        _text(info.version, "the plugin's version"),
        [t.Phase[Phase.parse(p).name] for p in info.phases],
        _texts(info.tools, "the plugin's tools"),
    )


def to_wit_inspection(inspection: Any) -> Any:
    """``inspection`` as the WIT ``inspection`` record."""
    if not isinstance(inspection, Inspection):
        raise TypeError(f"inspect must return an Inspection, not {type(inspection).__name__}")
    return _wit.types.Inspection(
        [_wit_finding(f) for f in inspection.findings],
        _texts(inspection.labels, "an inspection's labels"),
        [_wit_redaction(r) for r in inspection.redactions],
    )


def to_wit_decision(decision: Any) -> Any:
    """``decision`` as the WIT ``decision`` record."""
    if not isinstance(decision, Decision):
        raise TypeError(f"evaluate must return a Decision, not {type(decision).__name__}")
    t = _wit.types
    if decision.verdict == "allow":
        verdict: Any = t.Verdict_Allow()
    elif decision.verdict == "deny":
        verdict = t.Verdict_Deny(_text(decision.reason, "a deny reason"))
    elif decision.verdict == "require":
        verdict = t.Verdict_Require(_texts(decision.scopes, "the required scopes"))
    else:
        verdict = t.Verdict_Abstain()
    return t.Decision(
        verdict,
        [_wit_finding(f) for f in decision.findings],
        _texts(decision.labels, "a decision's labels"),
    )


def _describer(describe: DescribeArg) -> Callable[[], Info]:
    if isinstance(describe, Info):
        return lambda: describe
    if callable(describe):
        return describe
    raise TypeError(f"describe must be an Info or a function returning one, not {type(describe).__name__}")


def export_inspector(inspect: Callable[[Input], Inspection], describe: DescribeArg) -> type:
    """The class to export for world ``inspector``: bind it as ``WitWorld``.

    ``inspect`` takes an :class:`~lampart_sdk.Input` and returns an
    :class:`~lampart_sdk.Inspection`; ``describe`` is an :class:`~lampart_sdk.Info` or a
    function returning one (called once, when the plugin is loaded).
    """
    describe_fn = _describer(describe)
    keep_sources(inspect, describe_fn)

    class WitWorld:
        """The inspector's exports, as componentize-py calls them."""

        def describe(self) -> Any:
            """Says what the plugin is and what it wants to see."""
            return _guard(lambda: to_wit_info(describe_fn()))

        def inspect(self, input: Any) -> Any:  # noqa: A002 (the WIT parameter's name)
            """Inspects one action or one tool answer."""
            return _guard(lambda: to_wit_inspection(inspect(Input(input))))

    WitWorld.__qualname__ = WitWorld.__name__ = "WitWorld"
    return WitWorld


def export_policy(evaluate: Callable[[Input], Decision], describe: DescribeArg) -> type:
    """The class to export for world ``policy``: bind it as ``WitWorld``.

    ``evaluate`` takes an :class:`~lampart_sdk.Input` and returns a
    :class:`~lampart_sdk.Decision`; ``describe`` is an :class:`~lampart_sdk.Info` or a
    function returning one (called once, when the plugin is loaded).
    """
    describe_fn = _describer(describe)
    keep_sources(evaluate, describe_fn)

    class WitWorld:
        """The policy's exports, as componentize-py calls them."""

        def describe(self) -> Any:
            """Says what the plugin is and what it wants to see."""
            return _guard(lambda: to_wit_info(describe_fn()))

        def evaluate(self, input: Any) -> Any:  # noqa: A002 (the WIT parameter's name)
            """Decides on one action."""
            return _guard(lambda: to_wit_decision(evaluate(Input(input))))

    WitWorld.__qualname__ = WitWorld.__name__ = "WitWorld"
    return WitWorld
