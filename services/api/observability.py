"""The api function's Logger, Tracer and Metrics, shared by the handler and the routers."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def count(event_name: str) -> None:
    """Count one business event (SignUp, JobPosted, Application, Review) in CloudWatch."""
    metrics.add_metric(name=event_name, unit=MetricUnit.Count, value=1)
