"""Commands that callers start, one module per resource. Each is a function of (principal,
inputs) that checks the principal's scope and returns what the engine runs in a unit of work."""
