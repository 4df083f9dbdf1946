"""The decline_applications function: when a job closes, decline its other applications."""
