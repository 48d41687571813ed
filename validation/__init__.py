"""qms.validation: dataset manifests, locked protocols, statistics with intervals, bias, verdicts."""
