"""The deployer's parts: one module per service, the model, naming and the context.

The public entry point is `localcloud.deployer` (`deploy`, `Deployment`, `write_outputs`).
"""
