"""Write Lampart plugins in Python.

A plugin is a WebAssembly component exporting one of the worlds of ``plugin.wit``
(contract ``lampart:plugin@0.2.0``): a **policy** decides on an agent's tool call, an
**inspector** reports findings, labels and redactions. With this package a plugin is
one function and one line::

    from lampart_sdk import Finding, Info, Input, Inspection, export_inspector

    def inspect(input: Input) -> Inspection:
        out = Inspection()
        for ptr, text in input.strings():
            if "AKIA" in text:
                out.with_finding(Finding.critical("secrets.aws-key", "AWS key", ptr))
        return out

    WitWorld = export_inspector(inspect, Info("aws-keys", "0.1.0"))

Build it with componentize-py (see the guide, ``README.md``); test it with plain
``python3 -m unittest``: outside a component the host's ``setting`` and ``log`` go to
:mod:`lampart_sdk.testing`.

Only the standard library is used.
"""

from . import glob, log, pointer, testing
from .config import SettingError, Settings, settings
from .export import export_inspector, export_policy, failure_report
from .input import Input
from .model import (
    Decision,
    Finding,
    Info,
    Inspection,
    Phase,
    Redaction,
    Severity,
    abstain,
    allow,
    critical,
    deny,
    high,
    low,
    medium,
    require,
)

__version__ = "0.2.0"
"""The SDK's version; it follows the contract version it is written against."""

CONTRACT = "lampart:plugin@0.2.0"
"""The WIT contract plugins built with this SDK are written against."""

__all__ = [
    "CONTRACT",
    "Decision",
    "Finding",
    "Info",
    "Input",
    "Inspection",
    "Phase",
    "Redaction",
    "SettingError",
    "Settings",
    "Severity",
    "abstain",
    "allow",
    "critical",
    "deny",
    "export_inspector",
    "export_policy",
    "failure_report",
    "glob",
    "high",
    "log",
    "low",
    "medium",
    "pointer",
    "require",
    "settings",
    "testing",
]
