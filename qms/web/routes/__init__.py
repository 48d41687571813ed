"""The pages, one module per area; each defines `router`."""
