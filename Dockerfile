# The service as an image: `stores-api serve`, every setting from the
# environment (docs/operations.md). Built and run by tests/production/
# test_container.py with podman; compose.yaml runs it with PostgreSQL, Redis
# and Prometheus.
#
#   podman build -t stores-api .            # or: docker build -t stores-api .
#
# BASE is any image with Python 3.11 and its venv module: the official
# python:3.11-slim by default, or a Debian made with mmdebstrap where no
# registry is reachable (docs/operations.md says how).
ARG BASE=docker.io/library/python:3.11-slim

# The wheel, and the locked dependencies of the service alone, in a venv.
FROM ${BASE} AS build
WORKDIR /src
RUN python3 -m venv /opt/stores-api
COPY requirements-runtime.lock ./
RUN /opt/stores-api/bin/pip install --no-cache-dir --quiet --require-hashes \
        -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY api api
COPY models models
COPY migrations migrations
COPY openapi/__init__.py openapi/swagger.yaml openapi/
RUN /opt/stores-api/bin/pip wheel --no-cache-dir --quiet --no-deps --wheel-dir /wheels . \
    && /opt/stores-api/bin/pip install --no-cache-dir --quiet --no-deps /wheels/*.whl

# What runs: the venv, and a user of its own.
FROM ${BASE}
RUN useradd --system --uid 10001 --create-home --home-dir /srv/stores-api stores-api
COPY --from=build /opt/stores-api /opt/stores-api
ENV PATH=/opt/stores-api/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    INSTANCE_PATH=/srv/stores-api/instance \
    PORT=8000 \
    WORKERS=0
USER stores-api
WORKDIR /srv/stores-api
EXPOSE 8000
# /livez: the process answers (its database may be away; /readyz says so).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/livez\", timeout=2)"]
# SIGTERM drains (SHUTDOWN_DELAY_SECONDS, then in-flight requests end). The
# server is PID 1 (`exec`) and handles it itself, where a Python without
# handlers as PID 1 would ignore it; an init process (`--init`, compose's
# `init: true`) is still the better PID 1, reaping whatever else exits.
STOPSIGNAL SIGTERM
# WORKERS=0: one uvicorn process; N: gunicorn with N uvicorn workers.
CMD ["sh", "-c", "exec stores-api serve --host 0.0.0.0 --port \"$PORT\" --workers \"$WORKERS\""]
