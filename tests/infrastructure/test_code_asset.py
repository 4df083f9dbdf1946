"""The Lambda code filter, on a made-up repo holding everything a real one may hold."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from stacks.service_function import RUNTIME, services_code

PACKAGED = [
    "services/__init__.py",
    "services/api/__init__.py",
    "services/api/handler.py",
    "services/booking/book_nanny.asl.json",
    "services/common/dal/table.py",
    "events_schema/__init__.py",
    "events_schema/job_closed.py",
    "events_schema/job_closed.schema.json",
]
LEFT_OUT = [
    "app.py",
    "cdk.json",
    "schema.graphql",
    "README.md",
    "stacks/api.py",
    "tests/unit/test_logic.py",
    "tests/conftest.py",
    "docs/runbook.md",
    ".venv/lib/python3.11/site-packages/boto3/__init__.py",
    "node_modules/aws-cdk/package.json",
    "cdk.out/manifest.json",
    ".localcloud/outputs.json",
    "localcloud/edge.py",
    "services/__pycache__/__init__.cpython-311.pyc",
    "services/api/__pycache__/handler.cpython-313.pyc",
    "services/api/handler.pyc",
    "services/api/tests/test_handler.py",
    "services/api/test_routers.py",
    "services/api/routers_test.py",
    "services/conftest.py",
    "services/README.md",
]


def staged_files(repo: Path, outdir: Path) -> list[str]:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "AssetProbe")
    lambda_.Function(
        stack,
        "Probe",
        runtime=RUNTIME,
        handler="services.api.handler.handler",
        code=services_code(repo),
    )
    assembly = app.synth()
    (asset_dir,) = Path(assembly.directory).glob("asset.*")
    return sorted(str(p.relative_to(asset_dir)) for p in asset_dir.rglob("*") if p.is_file())


def test_only_function_code_is_packaged(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for name in PACKAGED + LEFT_OUT:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("x = 1\n")

    assert staged_files(repo, tmp_path / "cdk.out") == sorted(PACKAGED)
