"""Writing to the host's log.

Lampart keeps the lines a plugin logs with its call (at most 64 lines of 1 KiB each);
logging never changes a decision. When a call fails, the last line logged at ``error``
level is the failure's message in ``lampart check`` output and in the audit record.
Every line is also in the host's own log at debug level:
``LAMPART_LOG=warn,lampart::plugin=debug lampart check ...`` shows them as they come.

Outside a component, lines go to :mod:`lampart_sdk.testing` (and standard error).
"""

from __future__ import annotations

from . import _wit

_LEVELS = ("debug", "info", "warn", "error")


def log(level: str, message: str) -> None:
    """Writes one line at ``level``: ``"debug"``, ``"info"``, ``"warn"`` or ``"error"``."""
    if level not in _LEVELS:
        raise ValueError(f"unknown log level `{level}` (expected debug, info, warn or error)")
    _wit.host.log(_wit.host.Level[level.upper()], message)


def debug(message: str) -> None:
    """Detail for the plugin's author."""
    _wit.host.log(_wit.host.Level.DEBUG, message)


def info(message: str) -> None:
    """Normal operation."""
    _wit.host.log(_wit.host.Level.INFO, message)


def warn(message: str) -> None:
    """Something odd the operator may want to know."""
    _wit.host.log(_wit.host.Level.WARN, message)


def error(message: str) -> None:
    """Something failed."""
    _wit.host.log(_wit.host.Level.ERROR, message)
