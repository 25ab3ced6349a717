"""What the resource handlers share: sessions, lookups, pagination, conditional requests, shapes."""
