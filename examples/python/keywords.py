"""keywords: an inspector that reports every configured keyword or pattern found in what
an agent sends to a tool (request phase) or in what a tool answers (response phase),
and can redact it.

Settings (anything else is refused):

``keywords`` (required)
    A list. A string is a keyword or phrase, found as a whole word in any case
    (``"falcon"`` finds ``Project FALCON`` but not ``falconry``). A table is either
    ``{ keyword = "...", name = "..." }`` or ``{ pattern = "<Python regex>", name = "..." }``;
    ``name`` (optional) is what findings and redactions call it instead of the text
    itself. A pattern is matched as written (case-sensitive unless it says ``(?i)``).
``severity`` (default ``"high"``)
    The severity of the findings: ``info``, ``low``, ``medium``, ``high``, ``critical``.
    At the chain's ``deny-at`` or above, a finding denies.
``redact`` (default ``false``)
    Replace each match with ``[REDACTED:keyword]`` (``[REDACTED:<name>]`` for a named
    entry) in what is passed on.
``label`` (optional)
    A label to put on the session when anything is found, e.g. ``confidential``.

Every finding has rule ``keywords.match`` and the JSON pointer of the string it was
found in; matched text is never quoted in findings, only the keyword or its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lampart_sdk import (
    Finding,
    Info,
    Input,
    Inspection,
    Phase,
    Redaction,
    SettingError,
    Settings,
    Severity,
    export_inspector,
    settings,
)

RULE = "keywords.match"
KNOWN_SETTINGS = ("keywords", "severity", "redact", "label")


class Keyword:
    """One configured keyword or pattern, and how to find it in a text."""

    def __init__(self, shown: str, tag: str, keyword: str | None = None, pattern: str | None = None) -> None:
        self.shown = shown
        """How findings name it: its name, else the keyword, else the pattern."""
        self.tag = tag
        """What redactions put in its place: ``[REDACTED:<tag>]``."""
        self.keyword = keyword
        """The keyword or phrase, or ``None`` for a pattern."""
        self.folded = keyword.lower() if keyword is not None and keyword.isascii() else None
        """An ASCII keyword, lower-cased, for substring searches in ASCII texts."""
        self._word_start = keyword is not None and _is_word(keyword[0])
        self._word_end = keyword is not None and _is_word(keyword[-1])
        # A pattern is compiled at once (a bad one is a config error); a keyword's regex
        # only when a text that is not ASCII needs it: compiling costs more fuel than
        # searching most inputs.
        self.pattern: re.Pattern[str] | None = re.compile(pattern) if pattern is not None else None
        """The pattern, compiled; ``None`` for a keyword."""
        self._regex: re.Pattern[str] | None = None

    def _keyword_regex(self) -> re.Pattern[str]:
        if self._regex is None:
            assert self.keyword is not None
            body = re.escape(self.keyword)
            if self._word_start:
                body = r"(?<!\w)" + body
            if self._word_end:
                body += r"(?!\w)"
            self._regex = re.compile(body, re.IGNORECASE)
        return self._regex

    def find(self, text: str, folded: str | None) -> set[str]:
        """The distinct pieces of ``text`` that match; ``folded`` is ``text.lower()``
        when ``text`` is ASCII, else ``None``.
        """
        if self.pattern is not None:
            return {m.group() for m in self.pattern.finditer(text) if m.group()}
        if folded is not None and self.folded is not None:
            return self._find_ascii(text, folded, self.folded)
        return {m.group() for m in self._keyword_regex().finditer(text)}

    def _find_ascii(self, text: str, folded: str, needle: str) -> set[str]:
        """What the keyword's regex finds in an ASCII text, with substring searches."""
        found: set[str] = set()
        at = folded.find(needle)
        while at != -1:
            end = at + len(needle)
            if not (self._word_start and at > 0 and _is_word(folded[at - 1])) and not (
                self._word_end and end < len(folded) and _is_word(folded[end])
            ):
                found.add(text[at:end])
            at = folded.find(needle, at + 1)
        return found


def _is_word(char: str) -> bool:
    """Whether ``char`` is a word character (what ``\\w`` matches)."""
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class Config:
    """The step's settings, checked."""

    keywords: list[Keyword]
    severity: Severity
    redact: bool
    label: str | None


def _keyword(index: int, item: object) -> Keyword:
    where = f"keywords[{index}]"
    if isinstance(item, str):
        if not item.strip():
            raise SettingError("keywords", f"{where} is empty")
        return Keyword(item, "keyword", keyword=item)
    if not isinstance(item, dict):
        raise SettingError("keywords", f"{where} must be a string or a table, not {type(item).__name__}")
    unknown = sorted(set(item) - {"keyword", "pattern", "name"})
    if unknown:
        raise SettingError("keywords", f"{where}: unknown key `{unknown[0]}` (known: `keyword`, `pattern`, `name`)")
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise SettingError("keywords", f"{where}: `name` must be a non-empty string")
    has_keyword, has_pattern = "keyword" in item, "pattern" in item
    if has_keyword == has_pattern:
        raise SettingError("keywords", f"{where} needs exactly one of `keyword` and `pattern`")
    text = item["keyword"] if has_keyword else item["pattern"]
    if not isinstance(text, str) or not text.strip():
        what = "keyword" if has_keyword else "pattern"
        raise SettingError("keywords", f"{where}: the {what} must be a non-empty string")
    if has_keyword:
        return Keyword(name or text, name or "keyword", keyword=text)
    try:
        return Keyword(name or text, name or "keyword", pattern=text)
    except re.error as err:
        raise SettingError("keywords", f"{where}: pattern `{text}` is not a valid regex: {err}") from None


def load_config(source: Settings) -> Config:
    """Reads and checks the settings; raises :class:`SettingError` naming what is wrong."""
    items = source.get_json("keywords", None, list)
    if not items:
        raise SettingError("keywords", "required: a list of keywords or `{ pattern = ..., name = ... }` tables")
    keywords = [_keyword(i, item) for i, item in enumerate(items)]
    try:
        severity = Severity.parse(source.get_str("severity", "high") or "high")
    except ValueError as err:
        raise SettingError("severity", str(err)) from None
    label = source.get_str("label")
    if label is not None and not label.strip():
        raise SettingError("label", "must not be empty")
    return Config(keywords, severity, source.get_bool("redact", False), label)


def scan(input: Input, config: Config) -> Inspection:
    """The findings (and redactions) for one input under ``config``."""
    out = Inspection()
    for ptr, text in input.strings():
        folded = text.lower() if text.isascii() else None
        for keyword in config.keywords:
            # Cheap checks first, inline: most strings hold no keyword, and a method
            # call costs more than a substring search in a short string.
            if keyword.folded is not None and folded is not None:
                if keyword.folded not in folded:
                    continue
            elif keyword.pattern is not None and keyword.pattern.search(text) is None:
                continue
            found = keyword.find(text, folded)
            if not found:
                continue
            out.with_finding(Finding(RULE, config.severity, f"`{keyword.shown}` found", ptr))
            if config.redact:
                # Longest first, so that a match inside a longer one is not cut in two.
                for match in sorted(found, key=lambda m: (-len(m), m)):
                    out.with_redaction(Redaction.text(ptr, match, f"[REDACTED:{keyword.tag}]"))
    if out.findings and config.label:
        out.with_label(config.label)
    return out


def inspect(input: Input) -> Inspection:
    """The exported function: reads the settings, then scans this phase's strings."""
    return scan(input, load_config(settings(KNOWN_SETTINGS)))


def describe() -> Info:
    """Checks the settings once at load (a bad config refuses to load), then says what
    the plugin sees: both phases of every tool.
    """
    load_config(settings(KNOWN_SETTINGS))
    return Info("keywords", "0.1.0", phases=[Phase.REQUEST, Phase.RESPONSE], tools=["*"])


WitWorld = export_inspector(inspect, describe)
