"""Powertools reads its settings when a handler module is imported: set them first (no
X-Ray daemon here, and metrics need a namespace to be printed as EMF)."""

import os

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "NannyBooking")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
