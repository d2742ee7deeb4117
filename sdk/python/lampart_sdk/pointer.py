"""JSON pointers (RFC 6901) and walking parsed JSON values.

A pointer is empty (the whole document) or a sequence of ``/``-prefixed tokens in
which ``~1`` stands for ``/`` and ``~0`` for ``~``: ``/payee/iban``, ``/to/0``,
``/a~1b`` (the member ``a/b``).

One rule differs from RFC 6901, on purpose: a token of digits only (``/recipients/0``)
indexes an array and never names an object member. Otherwise a caller could send
``{"recipients": {"0": "trusted@corp", "x": "attacker@evil"}}`` to make an object pass
a rule written for the first element of a list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MISSING: Any = object()
"""Returned by :func:`lookup` when nothing is at the pointer (JSON ``null`` is ``None``)."""


def escape_token(token: str) -> str:
    """Escapes one reference token for a pointer: ``~`` → ``~0``, ``/`` → ``~1``.

    >>> escape_token("a/b~c")
    'a~1b~0c'
    """
    return token.replace("~", "~0").replace("/", "~1")


def push_token(pointer: str, token: str) -> str:
    """Appends one token to a pointer: ``push_token("/a", "b/c")`` is ``/a/b~1c``."""
    return f"{pointer}/{escape_token(token)}"


def is_pointer(pointer: str) -> bool:
    """Whether ``pointer`` is a valid JSON pointer: empty, or ``/``-separated tokens in
    which every ``~`` is followed by ``0`` or ``1``.

    >>> is_pointer(""), is_pointer("/a~1b/0"), is_pointer("cmd"), is_pointer("/a~2")
    (True, True, False, False)
    """
    if pointer == "":
        return True
    if not pointer.startswith("/"):
        return False
    at = pointer.find("~")
    while at != -1:
        if pointer[at + 1 : at + 2] not in ("0", "1"):
            return False
        at = pointer.find("~", at + 2)
    return True


def _is_index(token: str) -> bool:
    return token != "" and token.isascii() and token.isdigit()


def lookup(value: Any, pointer: str) -> Any:
    """The value at ``pointer`` in the parsed JSON ``value``, or :data:`MISSING`.

    A token of digits only indexes an array (``0``, or digits without a leading zero)
    and finds nothing on an object; any other token names an object member and finds
    nothing on an array. An invalid pointer finds nothing.

    >>> lookup({"to": ["a@corp"]}, "/to/0")
    'a@corp'
    >>> lookup({"to": {"0": "a@corp"}}, "/to/0") is MISSING
    True
    """
    if pointer == "":
        return value
    if not is_pointer(pointer):
        return MISSING
    current = value
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if _is_index(token):
            if not isinstance(current, list) or (token != "0" and token.startswith("0")):
                return MISSING
            index = int(token)
            if index >= len(current):
                return MISSING
            current = current[index]
        elif isinstance(current, dict):
            if token not in current:
                return MISSING
            current = current[token]
        else:
            return MISSING
    return current


def _collect(value: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    """Appends the strings in a list or dict (and below it) to ``out``."""
    if type(value) is dict:
        for key, child in value.items():
            kind = type(child)
            if kind is str or kind is dict or kind is list:
                if "~" in key or "/" in key:
                    key = key.replace("~", "~0").replace("/", "~1")
                if kind is str:
                    out.append((f"{prefix}/{key}", child))
                else:
                    _collect(child, f"{prefix}/{key}", out)
    else:
        index = 0
        for child in value:
            kind = type(child)
            if kind is str:
                out.append((f"{prefix}/{index}", child))
            elif kind is dict or kind is list:
                _collect(child, f"{prefix}/{index}", out)
            index += 1


def _walk(value: Any, base: str) -> Iterator[tuple[str, str]]:
    """The same walk as :func:`strings` without recursion, for very deep values."""
    stack: list[tuple[str, Any]] = [(base, value)]
    while stack:
        ptr, item = stack.pop()
        if isinstance(item, str):
            yield ptr, item
        elif isinstance(item, list):
            for index in range(len(item) - 1, -1, -1):
                stack.append((f"{ptr}/{index}", item[index]))
        elif isinstance(item, dict):
            for key, member in reversed(list(item.items())):
                stack.append((push_token(ptr, key), member))


def strings(value: Any, base: str = "") -> list[tuple[str, str]]:
    """Every string in a parsed JSON value with its pointer, depth first.

    Array items come in order, object members in the order of the document; object
    keys are not visited, only values. A string at the root has the pointer ``base``
    (``""`` by default).

    >>> strings({"cmd": "ls", "argv": ["rm", 1], "env": {"a/b": "x"}})
    [('/cmd', 'ls'), ('/argv/0', 'rm'), ('/env/a~1b', 'x')]
    """
    kind = type(value)
    if kind is str:
        return [(base, value)]
    out: list[tuple[str, str]] = []
    if kind is dict or kind is list:
        try:
            _collect(value, base, out)
        except RecursionError:
            return list(_walk(value, base))
    return out
