"""The narrow pipe emulation the contract tests rely on: what it does, and what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events_schema.pipe_emulation import UnsupportedPattern, matches, render_input_template


class TestMatches:
    def test_nested_exact_values(self) -> None:
        pattern = {"a": {"b": ["x", "y"]}}
        assert matches(pattern, {"a": {"b": "y", "c": 1}, "d": 2})
        assert not matches(pattern, {"a": {"b": "z"}})
        assert not matches(pattern, {"a": {}})
        assert not matches(pattern, {"a": "x"})

    def test_an_array_field_matches_when_one_element_does(self) -> None:
        assert matches({"tags": ["b"]}, {"tags": ["a", "b"]})
        assert not matches({"tags": ["c"]}, {"tags": ["a", "b"]})

    def test_json_equality_not_python_equality(self) -> None:
        assert not matches({"n": [1]}, {"n": True})
        assert not matches({"n": ["1"]}, {"n": 1})
        assert matches({"n": [None]}, {"n": None})

    @pytest.mark.parametrize(
        "pattern",
        [{"a": [{"prefix": "x"}]}, {"a": [{"exists": True}]}, {"a": "x"}, {"a": []}],
    )
    def test_content_filters_are_refused_not_guessed(self, pattern) -> None:
        with pytest.raises(UnsupportedPattern):
            matches(pattern, {"a": "x"})


PAYLOAD: dict[str, Any] = {"a": {"s": 'say "hi"', "n": 5, "o": {"k": [1, 2]}}, "list": ["p", "q"]}


class TestRenderInputTemplate:
    def test_quoted_placeholders_become_string_content(self) -> None:
        template = '{"s": "<$.a.s>", "n": "<$.a.n>", "mixed": "n=<$.a.n>!"}'
        assert json.loads(render_input_template(template, PAYLOAD)) == {
            "s": 'say "hi"',
            "n": "5",
            "mixed": "n=5!",
        }

    def test_unquoted_placeholders_become_json_values(self) -> None:
        template = '{"o": <$.a.o>, "n": <$.a.n>, "second": <$.list[1]>, "all": <$>}'
        assert json.loads(render_input_template(template, PAYLOAD)) == {
            "o": {"k": [1, 2]},
            "n": 5,
            "second": "q",
            "all": PAYLOAD,
        }

    def test_missing_paths(self) -> None:
        template = '{"quoted": "<$.a.nope>", "bare": <$.nope.deeper>, "index": <$.list[9]>}'
        assert json.loads(render_input_template(template, PAYLOAD)) == {
            "quoted": "",
            "bare": None,
            "index": None,
        }

    def test_reserved_variables_come_from_the_caller(self) -> None:
        template = '{"t": "<aws.pipes.event.ingestion-time>"}'
        rendered = render_input_template(template, {}, {"aws.pipes.event.ingestion-time": "T"})
        assert json.loads(rendered) == {"t": "T"}
        with pytest.raises(UnsupportedPattern):
            render_input_template(template, {})

    def test_wildcards_are_refused(self) -> None:
        with pytest.raises(UnsupportedPattern):
            render_input_template('{"x": <$.list.*>}', PAYLOAD)

    def test_escaped_quotes_in_the_template_keep_the_string_state(self) -> None:
        template = '{"x": "a \\" <$.a.n>"}'
        assert json.loads(render_input_template(template, PAYLOAD)) == {"x": 'a " 5'}
