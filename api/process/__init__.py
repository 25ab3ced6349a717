"""The serving process: its services, lifespan, logging, heap, migrations, pruning."""
