"""Design controls and traceability: design items, links, the pytest plugin, the trace matrix."""
