"""The audit_trail function: record every event of the bus, once, without personal data."""
