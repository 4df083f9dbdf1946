"""Tests of the whole project: unit/, infrastructure/, integration/, e2e/."""
