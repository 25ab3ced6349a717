"""The Stores API: Connexion serves openapi/swagger.yaml with these handlers."""

import warnings

# Connexion imports Starlette's test client at import time, and Starlette warns
# there about its HTTP client; it concerns neither this service nor its users.
warnings.filterwarnings(
    "ignore", message="Using `httpx` with `starlette.testclient` is deprecated"
)
