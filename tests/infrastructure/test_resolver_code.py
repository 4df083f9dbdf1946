"""The APPSYNC_JS resolver code, executed with Node against a stand-in for AppSync's util.

AppSync's `util.error` aborts the field with a GraphQL error; the stand-in throws the same
three values so the test sees exactly what a client would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from stacks.constants import RESOLVER_CODE_FILE

UTIL_STANDIN = """
const util = { error(message, type, data, info) {
  throw Object.assign(new Error(message), { graphql: { message, type, info: info ?? null } });
} };
"""

RUNNER = """
const ctx = JSON.parse(process.argv[1]);
const out = { request: request(ctx) };
try { out.response = response(ctx); } catch (e) { out.error = e.graphql ?? String(e); }
console.log(JSON.stringify(out));
"""


def run_resolver(ctx: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed (it installs the CDK CLI too)"
    code = RESOLVER_CODE_FILE.read_text()
    code = code.replace("import { util } from '@aws-appsync/utils';", UTIL_STANDIN)
    assert "@aws-appsync/utils" not in code
    done = subprocess.run(
        [node, "--input-type=module", "-e", code + RUNNER, json.dumps(ctx)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


CONTEXT = {
    "arguments": {"jobId": "j1"},
    "identity": {"username": "ann", "groups": ["parent"]},
    "source": None,
    "request": {"headers": {"x-amzn-requestid": "r1"}},
    "info": {"fieldName": "listApplicationsPerJob", "parentTypeName": "Query"},
    "prev": None,
    "stash": {},
}


def test_the_lambda_gets_the_payload_of_a_direct_resolver() -> None:
    out = run_resolver({**CONTEXT, "result": {"items": [], "nextToken": None}})
    assert out["request"] == {
        "operation": "Invoke",
        "payload": {key: CONTEXT[key] for key in CONTEXT},
    }


def test_a_value_passes_through() -> None:
    value = {"items": [{"id": "a"}], "nextToken": "t"}
    assert run_resolver({**CONTEXT, "result": value})["response"] == value


def test_a_domain_error_envelope_becomes_a_graphql_error_of_its_type() -> None:
    envelope = {
        "errorType": "NotJobOwner",
        "errorMessage": "Only the parent who posted the job may see its applications.",
        "errorInfo": None,
    }
    out = run_resolver({**CONTEXT, "result": envelope})
    assert out["error"] == {
        "message": envelope["errorMessage"],
        "type": "NotJobOwner",
        "info": None,
    }
    assert "response" not in out


def test_validation_details_travel_as_error_info() -> None:
    info = {"fields": [{"field": "rating", "message": "too high"}]}
    envelope = {
        "errorType": "ValidationError",
        "errorMessage": "rating: too high",
        "errorInfo": info,
    }
    assert run_resolver({**CONTEXT, "result": envelope})["error"]["info"] == info


@pytest.mark.parametrize(
    "lambda_error", [{"message": "Task timed out", "type": "Lambda:Unhandled"}]
)
def test_a_failed_invocation_stays_an_unhandled_error(lambda_error: dict[str, str]) -> None:
    out = run_resolver({**CONTEXT, "error": lambda_error, "result": None})
    assert out["error"]["type"] == "Lambda:Unhandled"
