"""The BookNanny Express workflow: its ASL definition and the code that renders it."""
