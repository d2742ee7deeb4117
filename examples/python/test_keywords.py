"""Unit tests of the keywords inspector, run natively (no component needed):

PYTHONPATH=../../sdk/python python3 -m unittest test_keywords
"""

import random
import re
import unittest

import keywords
from keywords import RULE, WitWorld, describe, inspect
from lampart_sdk import Info, Input, Phase, Redaction, SettingError, Severity, testing

testing.echo_logs(False)

CODE_NAMES = ["Project Falcon", "Bluebird", {"pattern": r"ACQ-[0-9]{4}\b", "name": "deal-id"}]


class KeywordsTests(unittest.TestCase):
    def run_inspect(self, input, **settings):
        with testing.settings(keywords=CODE_NAMES, **settings):
            return inspect(input)

    def test_a_clean_request_has_no_findings(self):
        out = self.run_inspect(Input.build("send_email", args={"to": "jane@corp.example", "body": "Lunch?"}))
        self.assertTrue(out.is_empty)

    def test_a_keyword_in_any_case_and_any_string_is_found_where_it_is(self):
        args = {"to": "press@news.example", "body": ["hi", "Between us: project FALCON closes."]}
        out = self.run_inspect(Input.build("send_email", args=args))
        self.assertEqual(len(out.findings), 1)
        finding = out.findings[0]
        self.assertEqual(
            (finding.rule, finding.severity, finding.location, finding.message),
            (RULE, Severity.HIGH, "/body/1", "`Project Falcon` found"),
        )
        self.assertEqual(out.redactions, [])

    def test_keywords_are_whole_words_and_patterns_are_named(self):
        out = self.run_inspect(Input.build("web.search", args={"q": "bluebirds and ACQ-2291 falconry"}))
        self.assertEqual([f.message for f in out.findings], ["`deal-id` found"])
        out = self.run_inspect(Input.build("web.search", args={"q": "a bluebird_x, then (Bluebird)"}))
        self.assertEqual([f.message for f in out.findings], ["`Bluebird` found"])

    def test_severity_and_label_come_from_the_settings(self):
        out = self.run_inspect(Input.build(args={"a": "bluebird"}), severity="low", label="confidential")
        self.assertEqual(out.findings[0].severity, Severity.LOW)
        self.assertEqual(out.labels, ["confidential"])
        self.assertEqual(self.run_inspect(Input.build(args={"a": "x"}), label="confidential").labels, [])

    def test_a_text_answer_is_redacted_in_every_case_it_appears_in(self):
        answer = "Board notes: Project Falcon (deal ACQ-2291) is on track; PROJECT FALCON too."
        out = self.run_inspect(Input.build("fs.read", phase="response", output_text=answer), redact=True)
        self.assertEqual([f.location for f in out.findings], ["", ""])
        self.assertEqual(
            out.redactions,
            [
                Redaction.text("", "PROJECT FALCON", "[REDACTED:keyword]"),
                Redaction.text("", "Project Falcon", "[REDACTED:keyword]"),
                Redaction.text("", "ACQ-2291", "[REDACTED:deal-id]"),
            ],
        )

    def test_a_json_answer_is_redacted_at_the_string_that_holds_it(self):
        answer = {"account": "globex", "notes": ["renewal due", "BLUEBIRD pilot"]}
        out = self.run_inspect(Input.build("crm.lookup", phase="response", output_json=answer), redact=True)
        self.assertEqual(out.redactions, [Redaction.text("/notes/1", "BLUEBIRD", "[REDACTED:keyword]")])

    def test_text_that_is_not_ascii_is_searched_with_unicode_case_rules(self):
        out = self.run_inspect(Input.build(args={"a": "Café — projet BLUEBIRD, ſecret"}))
        self.assertEqual([f.message for f in out.findings], ["`Bluebird` found"])
        with testing.settings(keywords=["secret", "Zürich"]):
            out = inspect(Input.build(args={"a": "ſecret", "b": "ZÜRICH office"}))
        self.assertEqual([f.location for f in out.findings], ["/a", "/b"])

    def test_the_fast_search_finds_what_the_regex_finds(self):
        rng = random.Random(7)
        alphabet = "ab _-.Xx1"
        for _ in range(2000):
            word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3))).strip() or "a"
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            keyword = keywords.Keyword(word, "keyword", keyword=word)
            fast = keyword.find(text, text.lower())
            slow = {m.group() for m in keyword._keyword_regex().finditer(text)}
            self.assertEqual(fast, slow, (word, text))

    def test_bad_settings_are_refused_with_one_line_naming_them(self):
        cases = [
            ({"keywords": CODE_NAMES, "colour": "red"},
             "setting `colour`: unknown setting (known: `keywords`, `severity`, `redact`, `label`)"),
            ({}, "setting `keywords`: required: a list of keywords or `{ pattern = ..., name = ... }` tables"),
            ({"keywords": "falcon"}, "setting `keywords`: expected a list, found a string"),
            ({"keywords": ["ok", 3]}, "setting `keywords`: keywords[1] must be a string or a table, not int"),
            ({"keywords": [" "]}, "setting `keywords`: keywords[0] is empty"),
            ({"keywords": [{"pattern": "("}]},
             "setting `keywords`: keywords[0]: pattern `(` is not a valid regex: "),
            ({"keywords": [{"keyword": "a", "pattern": "b"}]},
             "setting `keywords`: keywords[0] needs exactly one of `keyword` and `pattern`"),
            ({"keywords": [{"word": "a"}]},
             "setting `keywords`: keywords[0]: unknown key `word` (known: `keyword`, `pattern`, `name`)"),
            ({"keywords": ["a"], "severity": "severe"},
             "setting `severity`: unknown severity `severe` (expected info, low, medium, high or critical)"),
            ({"keywords": ["a"], "redact": "yes"}, "setting `redact`: expected a boolean, found a string"),
        ]
        for settings, message in cases:
            with self.subTest(settings=settings), testing.settings(settings):
                with self.assertRaises(SettingError) as err:
                    describe()
                if message.endswith(": "):  # then Python's own words, which vary by version
                    self.assertTrue(str(err.exception).startswith(message), err.exception)
                else:
                    self.assertEqual(str(err.exception), message)

    def test_describe_sees_both_phases_of_every_tool(self):
        with testing.settings(keywords=CODE_NAMES):
            self.assertEqual(describe(), Info("keywords", "0.1.0", [Phase.REQUEST, Phase.RESPONSE], ["*"]))

    def test_the_exported_class_fails_closed_with_the_error_logged(self):
        testing.take_logs()
        with testing.settings(keywords=["a"], colour="red"):
            with self.assertRaises(SettingError):
                WitWorld().inspect(Input.build().raw)
        self.assertEqual(
            testing.take_logs()[-1],
            ("error", "setting `colour`: unknown setting (known: `keywords`, `severity`, `redact`, `label`)"),
        )

    def test_named_keywords_hide_the_keyword_itself(self):
        with testing.settings(keywords=[{"keyword": "Falcon", "name": "code-name"}], redact=True):
            out = inspect(Input.build(args={"a": "falcon"}))
        self.assertEqual(out.findings[0].message, "`code-name` found")
        self.assertEqual(out.redactions, [Redaction.text("/a", "falcon", "[REDACTED:code-name]")])
        self.assertFalse(re.search("falcon", out.findings[0].message, re.I))


if __name__ == "__main__":
    unittest.main()
