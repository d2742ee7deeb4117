"""Reading a step's settings from the chain config.

Each step of a chain has a table of settings::

    [[step]]
    plugin = "plugins/keywords.wasm"
    settings = { keywords = ["falcon"], severity = "high", redact = true }

A value that is a string in the config arrives as that string; anything else (tables,
arrays, numbers, booleans) arrives as JSON text. :meth:`Settings.get_json` reads both:
it parses the text as JSON and, when that fails and the text does not start like a
JSON array, object or string (``[``, ``{``, ``"``), takes the raw text as a string. So
``severity = "high"`` reads as ``"high"``, and a JSON document may also be written as a
string in the config; a broken JSON document is reported as such.

Refuse keys you do not know (``settings(["keywords", "severity"])`` does), so that a
misspelled setting is an error rather than a silently ignored value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from . import _wit

_Kinds = type[Any] | tuple[type[Any], ...]


class SettingError(ValueError):
    """A setting that is unknown or does not fit; ``str()`` is one line:
    ``setting `key`: what is wrong``.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"setting `{key}`: {message}")
        self.key = key
        """The setting's key."""
        self.message = message
        """What is wrong with it."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"`{name}` is not JSON")


def loads(text: str) -> Any:
    """Parses strict JSON text: ``NaN`` and ``Infinity`` are refused, as Lampart does."""
    return json.loads(text, parse_constant=_no_constants)


_KIND_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def kind_of(value: Any) -> str:
    """What a parsed JSON value is, in words: ``a string``, ``a list``, ``an integer``, ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return _KIND_NAMES.get(type(value), type(value).__name__)


def _fits(value: Any, kinds: _Kinds) -> bool:
    wanted = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool):
        return bool in wanted
    if float in wanted and isinstance(value, int):
        return True
    return isinstance(value, wanted)


def _kinds_text(kinds: _Kinds) -> str:
    wanted = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(_KIND_NAMES.get(k, k.__name__) for k in wanted)


def parse_json(key: str, raw: str | None, default: Any = None, kind: _Kinds | None = None) -> Any:
    """Parses one raw setting (see the module docs); ``default`` when ``raw`` is ``None``.

    With ``kind`` (a type or a tuple of types: ``str``, ``bool``, ``int``, ``float``,
    ``list``, ``dict``) a value of another kind raises :class:`SettingError`; ``float``
    also accepts integers, and ``int`` never accepts booleans.
    """
    if raw is None:
        return default
    try:
        value = loads(raw)
    except (ValueError, RecursionError) as err:
        if raw.lstrip().startswith(("[", "{", '"')):
            raise SettingError(key, f"not valid JSON: {err}") from None
        value = raw  # not JSON at all: a plain string
    if kind is not None and not _fits(value, kind):
        raise SettingError(key, f"expected {_kinds_text(kind)}, found {kind_of(value)}")
    return value


class Settings:
    """A step's settings: read from the host, or from a mapping (handy in tests).

    >>> s = Settings({"limit": "10", "mode": "deny"})
    >>> s.get_json("limit", 0, int), s.get_str("mode", "allow"), s.get("other")
    (10, 'deny', None)
    """

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        """Settings from ``values``, or from the host (the step's config) when ``None``."""
        self._values = dict(values) if values is not None else None

    def get(self, key: str) -> str | None:
        """The raw text of setting ``key``, or ``None`` when the step does not have it."""
        if self._values is not None:
            return self._values.get(key)
        raw: str | None = _wit.host.setting(key)
        return raw

    def keys(self) -> list[str]:
        """The keys the step has settings for, sorted."""
        if self._values is not None:
            return sorted(self._values)
        return list(_wit.host.setting_keys())

    def check_keys(self, known: Iterable[str]) -> None:
        """Raises :class:`SettingError` for the first key not in ``known``.

        >>> Settings({"rule": "[]"}).check_keys(["rules", "default"])
        Traceback (most recent call last):
        ...
        lampart_sdk.config.SettingError: setting `rule`: unknown setting (known: `rules`, `default`)
        """
        known = list(known)
        for key in self.keys():
            if key not in known:
                names = ", ".join(f"`{k}`" for k in known) or "none"
                raise SettingError(key, f"unknown setting (known: {names})")

    def get_json(self, key: str, default: Any = None, kind: _Kinds | None = None) -> Any:
        """Setting ``key`` parsed as JSON (see the module docs), or ``default`` when the
        step does not have it; ``kind`` checks what it is (see :func:`parse_json`).
        """
        return parse_json(key, self.get(key), default, kind)

    def get_str(self, key: str, default: str | None = None) -> str | None:
        """Setting ``key`` as a string (``mode = "deny"``), or ``default``."""
        value: str | None = self.get_json(key, default, str)
        return value

    def get_bool(self, key: str, default: bool = False) -> bool:
        """Setting ``key`` as a boolean (``redact = true``), or ``default``."""
        return bool(self.get_json(key, default, bool))

    def get_strings(self, key: str, default: Iterable[str] = ()) -> list[str]:
        """Setting ``key`` as a list of strings (``tools = ["a", "b"]``), or ``default``."""
        value: list[str] | None = self.get_json(key, None, list)
        if value is None:
            return list(default)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise SettingError(key, f"item {index} is {kind_of(item)}, expected a string")
        return value


def settings(known_keys: Iterable[str] | None = None) -> Settings:
    """The step's settings, read from the host (outside a component: from
    :mod:`lampart_sdk.testing`).

    With ``known_keys``, a key not among them raises :class:`SettingError`, e.g.
    ``setting `colour`: unknown setting (known: `keywords`, `severity`)``.
    """
    found = Settings()
    if known_keys is not None:
        found.check_keys(known_keys)
    return found
