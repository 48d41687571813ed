"""One module per command group; each defines `register(app)` and is found at start-up."""
