"""The serving process: its services, lifespan, logging, heap, migrations,
pruning, metrics, probes and traces; and the account commands an operator runs."""
