"""Stand-ins for the host, for unit tests under plain ``python3`` (no component, no
componentize-py).

Outside a component, :func:`lampart_sdk.settings` reads the settings set here and
:mod:`lampart_sdk.log` records its lines here (and echoes them to standard error
unless :func:`echo_logs` turned that off). The store is per process::

    from lampart_sdk import Input, testing

    with testing.settings({"keywords": ["falcon"], "redact": True}):
        out = inspect(Input.build("send_email", args={"body": "Project Falcon"}))
    assert testing.take_logs() == []

Values that are not strings are stored as JSON text, as the host passes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from . import _native, _wit


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def set_setting(key: str, value: Any) -> None:
    """Sets one setting (a string as it is, anything else as JSON text)."""
    _native.STORE.settings[key] = _text(value)


def clear_settings() -> None:
    """Removes every setting."""
    _native.STORE.settings.clear()


@contextmanager
def settings(values: Mapping[str, Any] | None = None, **more: Any) -> Iterator[None]:
    """Runs the ``with`` block with exactly these settings, then clears them (also when
    the block raises). Keys that are not Python names go in ``values``.
    """
    clear_settings()
    for key, value in {**(values or {}), **more}.items():
        set_setting(key, value)
    try:
        yield
    finally:
        clear_settings()


def take_logs() -> list[tuple[str, str]]:
    """Takes the lines logged so far, as ``(level, message)`` pairs."""
    lines = list(_native.STORE.logs)
    _native.STORE.logs.clear()
    return lines


def echo_logs(on: bool) -> None:
    """Whether logged lines are also printed to standard error (on by default)."""
    _native.STORE.echo = on


def in_component() -> bool:
    """Whether the code runs inside a component (where this module's stand-ins are unused)."""
    return _wit.IN_COMPONENT
