"""Unit tests of lampart_sdk, run natively: ``python3 -m unittest discover -s tests``."""

import doctest
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import lampart_sdk  # noqa: E402
from lampart_sdk import (  # noqa: E402
    Decision,
    Finding,
    Info,
    Input,
    Inspection,
    Phase,
    Redaction,
    SettingError,
    Settings,
    Severity,
    _native,
    abstain,
    allow,
    config,
    deny,
    export,
    export_inspector,
    export_policy,
    failure_report,
    glob,
    high,
    model,
    pointer,
    require,
    settings,
    testing,
)
from lampart_sdk import input as input_module  # noqa: E402

testing.echo_logs(False)


def load_tests(loader, tests, ignore):  # noqa: ARG001 (unittest's protocol)
    """Runs the examples in the docstrings too."""
    for module in (config, export, glob, input_module, model, pointer):
        tests.addTests(doctest.DocTestSuite(module))
    return tests


class PointerTests(unittest.TestCase):
    def test_lookup_follows_rfc_6901_escapes(self):
        value = {"a/b": {"~c": [10, 20]}, "": "empty key"}
        self.assertEqual(pointer.lookup(value, "/a~1b/~0c/1"), 20)
        self.assertEqual(pointer.lookup(value, "/"), "empty key")
        self.assertIs(pointer.lookup(value, ""), value)

    def test_a_digit_token_indexes_arrays_only(self):
        listed = {"to": ["trusted@corp"]}
        keyed = {"to": {"0": "trusted@corp", "x": "attacker@evil"}}
        self.assertEqual(pointer.lookup(listed, "/to/0"), "trusted@corp")
        self.assertIs(pointer.lookup(keyed, "/to/0"), pointer.MISSING)
        self.assertEqual(pointer.lookup(keyed, "/to/x"), "attacker@evil")
        self.assertIs(pointer.lookup(listed, "/to/00"), pointer.MISSING)
        self.assertIs(pointer.lookup(listed, "/to/1"), pointer.MISSING)
        self.assertIs(pointer.lookup(listed, "/to/-"), pointer.MISSING)
        self.assertIs(pointer.lookup({"to": [1]}, "/to/x"), pointer.MISSING)

    def test_invalid_pointers_find_nothing(self):
        for bad in ("a", "/a~2", "/a~"):
            self.assertFalse(pointer.is_pointer(bad))
            self.assertIs(pointer.lookup({"a": 1}, bad), pointer.MISSING)
        self.assertIs(pointer.lookup("text", "/a"), pointer.MISSING)
        self.assertIsNone(pointer.lookup({"a": None}, "/a"))

    def test_strings_in_document_order_with_pointers(self):
        value = {"a": "1", "b": ["2", {"c/d": "3", "n": 4}], "e": None, "~": "5"}
        found = pointer.strings(value)
        self.assertEqual(found, [("/a", "1"), ("/b/0", "2"), ("/b/1/c~1d", "3"), ("/~0", "5")])
        for ptr, text in found:
            self.assertEqual(pointer.lookup(value, ptr), text)
        self.assertEqual(pointer.strings("root"), [("", "root")])
        self.assertEqual(pointer.strings(42), [])

    def test_strings_of_a_very_deep_value(self):
        deep = "x"
        for _ in range(3000):
            deep = [deep]
        self.assertEqual(pointer.strings(deep), [("/0" * 3000, "x")])


class GlobTests(unittest.TestCase):
    def test_star_and_question_mark(self):
        self.assertTrue(glob.matches("*", ""))
        self.assertTrue(glob.matches("fs.*", "fs."))
        self.assertTrue(glob.matches("fs.*", "fs.read/x"))
        self.assertFalse(glob.matches("fs.*", "fs"))
        self.assertTrue(glob.matches("send_?oney", "send_money"))
        self.assertTrue(glob.matches("a*b*c", "aXXbYYc"))
        self.assertFalse(glob.matches("a*b*c", "aXXbYY"))
        self.assertTrue(glob.matches("?", "é"))

    def test_everything_else_is_literal(self):
        self.assertFalse(glob.matches("[ab]", "a"))
        self.assertTrue(glob.matches("[ab]", "[ab]"))
        self.assertFalse(glob.matches("Shell", "shell"))
        self.assertTrue(glob.matches_any(["fs.*", "shell"], "shell"))
        self.assertFalse(glob.matches_any([], "shell"))


class SettingsTests(unittest.TestCase):
    def test_json_and_plain_strings(self):
        s = Settings({"a": "[1,2]", "b": "plain", "c": '"quoted"', "d": "[1,", "n": "10"})
        self.assertEqual(s.get_json("a"), [1, 2])
        self.assertEqual(s.get_json("b"), "plain")
        self.assertEqual(s.get_json("c"), "quoted")
        self.assertEqual(s.get_json("missing", "default"), "default")
        with self.assertRaises(SettingError) as err:
            s.get_json("d")
        self.assertTrue(str(err.exception).startswith("setting `d`: not valid JSON"), err.exception)
        with self.assertRaises(SettingError) as err:
            s.get_json("n", kind=str)
        self.assertEqual(str(err.exception), "setting `n`: expected a string, found a number")
        self.assertEqual(s.get_json("n", kind=float), 10)

    def test_not_json_constants_are_strings(self):
        self.assertEqual(Settings({"x": "NaN"}).get_json("x"), "NaN")
        self.assertEqual(Settings({"x": "Infinity"}).get_str("x"), "Infinity")

    def test_typed_getters(self):
        s = Settings({"on": "true", "one": "1", "list": '["a", "b"]', "mixed": '["a", 2]'})
        self.assertTrue(s.get_bool("on"))
        self.assertFalse(s.get_bool("off"))
        with self.assertRaises(SettingError) as err:
            s.get_bool("one")
        self.assertEqual(str(err.exception), "setting `one`: expected a boolean, found a number")
        self.assertEqual(s.get_strings("list"), ["a", "b"])
        self.assertEqual(s.get_strings("none", ["x"]), ["x"])
        with self.assertRaises(SettingError) as err:
            s.get_strings("mixed")
        self.assertEqual(str(err.exception), "setting `mixed`: item 1 is a number, expected a string")
        with self.assertRaises(SettingError):
            s.get_json("one", kind=bool)
        with self.assertRaises(SettingError):
            Settings({"t": "true"}).get_json("t", kind=int)

    def test_unknown_keys_are_refused_naming_the_key_and_the_known_ones(self):
        with testing.settings(colour="red", keywords=["a"]):
            with self.assertRaises(SettingError) as err:
                settings(["keywords", "severity"])
            self.assertEqual(
                str(err.exception), "setting `colour`: unknown setting (known: `keywords`, `severity`)"
            )
            self.assertEqual(err.exception.key, "colour")
            self.assertEqual(settings(["keywords", "colour"]).get_json("keywords"), ["a"])

    def test_the_stand_in_host_stores_non_strings_as_json(self):
        with testing.settings({"a-b": {"x": True}}, mode="deny", n=3):
            s = settings()
            self.assertEqual(s.keys(), ["a-b", "mode", "n"])
            self.assertEqual(s.get("a-b"), '{"x": true}')
            self.assertEqual(s.get("mode"), "deny")
            self.assertEqual(s.get_json("n"), 3)
        self.assertEqual(settings().keys(), [])


class InputTests(unittest.TestCase):
    def test_principal_and_session(self):
        i = Input.build(
            "send_money",
            agent="bot",
            roles=["finance"],
            session="s-1",
            task="t-1",
            resource="acct:1",
            grants=["payments:large"],
            labels=["untrusted-content"],
            findings=[Finding.low("r", "m", "/x")],
            id="d-1",
        )
        self.assertEqual((i.tool, i.agent, i.session, i.task, i.resource, i.id),
                         ("send_money", "bot", "s-1", "t-1", "acct:1", "d-1"))
        self.assertTrue(i.has_role("finance") and not i.has_role("ops"))
        self.assertTrue(i.has_grant("payments:large"))
        self.assertTrue(i.has_label("untrusted-content"))
        self.assertEqual(i.findings, [Finding("r", Severity.LOW, "m", "/x")])
        self.assertTrue(i.tool_matches("send_*"))
        self.assertIs(i.phase, Phase.REQUEST)

    def test_argument_helpers(self):
        i = Input.build(args={"cmd": "ls", "n": 3, "f": 1.5, "ok": True, "none": None, "to": ["a"]})
        self.assertEqual(i.arg_str("/cmd"), "ls")
        self.assertEqual(i.arg_number("/n"), 3)
        self.assertEqual(i.arg_number("/f"), 1.5)
        self.assertIsNone(i.arg_number("/ok"))
        self.assertIs(i.arg_bool("/ok"), True)
        self.assertIsNone(i.arg_str("/n"))
        self.assertIsNone(i.arg("/missing"))
        self.assertEqual(i.arg("/missing", "d"), "d")
        self.assertTrue(i.has_arg("/none") and not i.has_arg("/missing"))
        self.assertEqual(i.arg("/to/0"), "a")
        self.assertEqual(i.arg_strings(), [("/cmd", "ls"), ("/to/0", "a")])
        self.assertIsNone(i.args_error)

    def test_invalid_arguments_never_raise(self):
        i = Input.build(args_text="{not json")
        self.assertIsNone(i.args)
        self.assertTrue(i.args_error.startswith("not valid JSON: "), i.args_error)
        self.assertEqual(i.strings(), [])
        self.assertIsNone(i.arg("/x"))
        deep = Input.build(args_text="[" * 100000 + "]" * 100000)
        self.assertIsNotNone(deep.args_error)

    def test_strings_follow_the_phase(self):
        request = Input.build(args={"a": "1"}, output_text="plain")
        self.assertEqual(request.strings(), [("/a", "1")])
        text = Input.build(phase="response", output_text="plain text")
        self.assertEqual(text.strings(), [("", "plain text")])
        self.assertEqual((text.output_kind, text.output_text, text.output_json), ("text", "plain text", None))
        answer = Input.build(phase=Phase.RESPONSE, output_json={"body": "hi", "n": [1, "x"]})
        self.assertEqual(answer.strings(), [("/body", "hi"), ("/n/1", "x")])
        self.assertEqual((answer.output_kind, answer.output_text), ("json", None))
        self.assertEqual(answer.output_json, {"body": "hi", "n": [1, "x"]})
        self.assertEqual(Input.build(phase="response").strings(), [])
        self.assertEqual(Input.build(phase="response", output_json="s").strings(), [("", "s")])

    def test_a_text_answer_that_reads_like_json_stays_text(self):
        text = Input.build(phase="response", output_text="42")
        self.assertEqual(text.output_text, "42")
        self.assertIsNone(text.output_json)
        number = Input.build(phase="response", output_json=42)
        self.assertEqual(number.output_json, 42)
        self.assertIsNone(number.output_text)
        null = Input.build(phase="response", output_json=None)
        self.assertEqual(null.output_kind, "json")
        self.assertIsNone(null.output_json)

    def test_a_json_answer_that_does_not_parse_is_looked_at_as_text(self):
        raw = Input.build(phase="response").raw
        raw.output = _native.types.ToolOutput_Json("{broken")
        i = Input(raw)
        self.assertIsNotNone(i.output_error)
        self.assertEqual(i.strings(), [("", "{broken")])


class ModelTests(unittest.TestCase):
    def test_findings(self):
        f = Finding.high("shell.x", "bad").at("/cmd")
        self.assertEqual((f.rule, f.severity, f.message, f.location), ("shell.x", Severity.HIGH, "bad", "/cmd"))
        self.assertEqual(Finding("r", "Critical", "m").severity, Severity.CRITICAL)
        self.assertEqual(high("r", "m", "/a"), Finding("r", Severity.HIGH, "m", "/a"))
        self.assertEqual(lampart_sdk.low("r", "m").severity, Severity.LOW)
        self.assertEqual(lampart_sdk.medium("r", "m").severity, Severity.MEDIUM)
        self.assertEqual(lampart_sdk.critical("r", "m").severity, Severity.CRITICAL)
        self.assertEqual(Finding.info("r", "m").severity, Severity.INFO)
        with self.assertRaises(ValueError) as err:
            Finding("r", "severe", "m")
        self.assertEqual(
            str(err.exception), "unknown severity `severe` (expected info, low, medium, high or critical)"
        )

    def test_severities_are_ordered_and_named(self):
        self.assertLess(Severity.INFO, Severity.LOW)
        self.assertLess(Severity.HIGH, Severity.CRITICAL)
        self.assertEqual(str(Severity.HIGH), "high")
        self.assertEqual(Phase.parse("Response"), Phase.RESPONSE)
        with self.assertRaises(ValueError):
            Phase.parse("later")

    def test_decisions(self):
        d = deny("no", findings=[Finding.low("r", "m")]).with_label("x").with_labels(["y"])
        self.assertTrue(d.is_deny)
        self.assertEqual((d.reason, d.labels, len(d.findings)), ("no", ["x", "y"], 1))
        r = require("payments:large")
        self.assertTrue(r.is_require)
        self.assertEqual(r.scopes, ["payments:large"])
        self.assertEqual(require(["a", "b"]).scopes, ["a", "b"])
        self.assertTrue(allow().is_allow and abstain().is_abstain)
        with self.assertRaises(ValueError):
            Decision("maybe")

    def test_inspections(self):
        i = (
            Inspection()
            .with_finding(Finding.critical("a", "b"))
            .with_findings([Finding.low("a", "b")])
            .with_redaction(Redaction.text("/x", "secret", "[REDACTED]"))
            .with_redactions([Redaction.whole("", "[GONE]")])
            .with_label("l")
            .with_labels(["l", "m"])
        )
        self.assertEqual(i.labels, ["l", "m"])
        self.assertEqual(i.max_severity(), Severity.CRITICAL)
        self.assertEqual(i.redactions[0], Redaction(location="/x", find="secret", replacement="[REDACTED]"))
        self.assertIsNone(i.redactions[1].find)
        self.assertTrue(Inspection().is_empty and not i.is_empty)
        self.assertIsNone(Inspection().max_severity())

    def test_info(self):
        info = Info("x", "1.0.0")
        self.assertEqual((info.phases, info.tools), ([Phase.REQUEST], ["*"]))
        info = Info("x", "1.0.0", phases=["request", Phase.RESPONSE], tools="fs.*")
        self.assertEqual((info.phases, info.tools), ([Phase.REQUEST, Phase.RESPONSE], ["fs.*"]))


class ExportTests(unittest.TestCase):
    def setUp(self):
        testing.take_logs()

    def test_an_inspector_returns_the_wit_records(self):
        def inspect(i):
            return Inspection().with_finding(high("r", "m", "/a")).with_redaction(Redaction.whole("/a", "x"))

        world = export_inspector(inspect, Info("t", "1", phases=["response"]))()
        t = _native.types
        self.assertEqual(world.describe(), t.Info("t", "1", [t.Phase.RESPONSE], ["*"]))
        out = world.inspect(Input.build(args={"a": "b"}).raw)
        self.assertEqual(out.findings, [t.Finding("r", t.Severity.HIGH, "m", "/a")])
        self.assertEqual(out.redactions, [t.Redaction("/a", None, "x")])

    def test_a_policy_returns_each_verdict(self):
        t = _native.types
        verdicts = {
            "a": (allow(), t.Verdict_Allow()),
            "d": (deny("why"), t.Verdict_Deny("why")),
            "r": (require(["s"]), t.Verdict_Require(["s"])),
            "x": (abstain(labels="l"), t.Verdict_Abstain()),
        }
        world = export_policy(lambda i: verdicts[i.tool][0], lambda: Info("p", "1"))()
        for tool, (_, wit) in verdicts.items():
            self.assertEqual(world.evaluate(Input.build(tool).raw).verdict, wit)
        self.assertEqual(world.evaluate(Input.build("x").raw).labels, ["l"])

    def test_an_exception_is_logged_with_its_traceback_and_raised_again(self):
        def evaluate(i):
            return {"a": 1}[i.arg_str("/key")]

        world = export_policy(evaluate, Info("p", "1"))()
        with self.assertRaises(KeyError):
            world.evaluate(Input.build(args={"key": "zzz"}).raw)
        (level, message), = testing.take_logs()
        self.assertEqual(level, "error")
        lines = message.split("\n")
        self.assertEqual(lines[0], "KeyError: 'zzz'")
        self.assertEqual(lines[1], "Traceback (most recent call last):")
        self.assertIn("in evaluate", lines[2])
        self.assertIn('return {"a": 1}[i.arg_str("/key")]', lines[3])
        self.assertNotIn("lampart_sdk", message)

    def test_a_wrong_return_value_is_an_error_naming_what_was_expected(self):
        world = export_inspector(lambda i: None, Info("t", "1"))()
        with self.assertRaises(TypeError):
            world.inspect(Input.build().raw)
        (_, message), = testing.take_logs()
        self.assertTrue(message.startswith("TypeError: inspect must return an Inspection, not NoneType"), message)
        world = export_inspector(lambda i: Inspection(findings=["x"]), Info("t", "1"))()
        with self.assertRaises(TypeError):
            world.inspect(Input.build().raw)
        world = export_policy(lambda i: deny(None), Info("t", "1"))()  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            world.evaluate(Input.build().raw)
        self.assertIn("a deny reason must be a string, not NoneType", testing.take_logs()[-1][1])

    def test_a_setting_error_is_one_line(self):
        def describe():
            settings(["known"])
            return Info("t", "1")

        world = export_inspector(lambda i: Inspection(), describe)()
        with testing.settings(unknown="1"):
            with self.assertRaises(SettingError):
                world.describe()
        logs = testing.take_logs()
        self.assertEqual(logs[-1], ("error", "setting `unknown`: unknown setting (known: `known`)"))
        self.assertEqual(logs[0][0], "debug")
        self.assertIn("Traceback", logs[0][1])

    def test_a_long_report_keeps_the_exception_and_the_innermost_frames(self):
        def recurse(n):
            if n == 0:
                raise ValueError("x" * 50)
            return recurse(n - 1)

        try:
            recurse(60)
        except ValueError as exc:
            report = failure_report(exc)
            short = failure_report(exc, limit=120)
        self.assertLessEqual(len(report.encode("utf-8")), export.MAX_REPORT_BYTES)
        self.assertTrue(report.startswith("ValueError: " + "x" * 50 + "\nTraceback"))
        self.assertIn("  …\n", report)
        self.assertTrue(report.endswith('raise ValueError("x" * 50)'), report[-80:])
        self.assertLessEqual(len(short.encode("utf-8")), 120)

    def test_chained_exceptions_name_their_cause(self):
        try:
            try:
                json.loads("{")
            except ValueError as err:
                raise RuntimeError("bad rules") from err
        except RuntimeError as exc:
            report = failure_report(exc)
        self.assertTrue(report.startswith("RuntimeError: bad rules\n"))
        self.assertIn("\nraised from JSONDecodeError: Expecting", report)


class LogTests(unittest.TestCase):
    def test_levels(self):
        testing.take_logs()
        lampart_sdk.log.debug("d")
        lampart_sdk.log.info("i")
        lampart_sdk.log.warn("w")
        lampart_sdk.log.error("e")
        lampart_sdk.log.log("warn", "w2")
        self.assertEqual(
            testing.take_logs(), [("debug", "d"), ("info", "i"), ("warn", "w"), ("error", "e"), ("warn", "w2")]
        )
        with self.assertRaises(ValueError):
            lampart_sdk.log.log("loud", "x")
        self.assertFalse(testing.in_component())


if __name__ == "__main__":
    unittest.main()
