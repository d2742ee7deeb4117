"""Glob matching for tool names, agent names and the like, as Lampart's config reads them.

========  ==========================================================================
pattern   matches
========  ==========================================================================
``*``     any run of characters, including none and including ``.``, ``/``, ``_``
``?``     exactly one character
other     itself, case-sensitively
========  ==========================================================================

There are no character classes, braces or escapes (unlike :mod:`fnmatch`): ``fs.*``
matches ``fs.read`` and ``fs.`` but not ``fs``; ``*`` matches everything.
"""

from __future__ import annotations

from collections.abc import Iterable


def matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the glob ``pattern``, in linear time.

    >>> matches("fs.*", "fs.read"), matches("send_?oney", "send_money"), matches("fs.*", "fs")
    (True, True, False)
    """
    p, t = pattern, text
    pi = ti = 0
    star_p = star_t = -1
    while ti < len(t):
        if pi < len(p) and (p[pi] == "?" or (p[pi] != "*" and p[pi] == t[ti])):
            pi += 1
            ti += 1
        elif pi < len(p) and p[pi] == "*":
            star_p, star_t = pi, ti
            pi += 1
        elif star_p >= 0:
            star_t += 1
            pi, ti = star_p + 1, star_t
        else:
            return False
    return all(c == "*" for c in p[pi:])


def matches_any(patterns: Iterable[str], text: str) -> bool:
    """Whether ``text`` matches at least one of ``patterns``."""
    return any(matches(pattern, text) for pattern in patterns)
