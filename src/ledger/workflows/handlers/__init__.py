"""One module per queue, named after it, each with handle(envelope, context)."""
