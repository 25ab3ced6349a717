"""What the service counts for Prometheus, named as OpenTelemetry's HTTP
conventions name it (`http.server.request.duration` is
`http_server_request_duration_seconds` here), and what it adds of its own
under `stores_api_`.

Under gunicorn every worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR, and a scrape of any worker sums them
(prometheus-client's multiprocess mode; api/process/metrics.py). That mode is
chosen when prometheus-client is first imported: `stores-api serve` sets the
directory before anything imports this module.

Labels take values from the spec (operationId, policy names) or from short
fixed lists, never from what a caller sent: a scan of random paths or
methods cannot grow the number of series.
"""

from prometheus_client import Counter, Gauge, Histogram

# OpenTelemetry's advice for http.server.request.duration.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                    7.5, 10.0)
# The label of a request that no operation of the spec answered (a 404 for
# an unknown path, the docs, the spec itself).
NO_OPERATION = "none"
# HTTP's methods (RFC 9110) and PATCH; anything else a caller invents is `_OTHER`.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                           "TRACE", "PATCH"})

REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Time from a request's first byte to its answer's last, by operation and status.",
    ("operation_id", "http_request_method", "http_response_status_code"),
    buckets=DURATION_BUCKETS,
)
ACTIVE_REQUESTS = Gauge(
    "http_server_active_requests", "Requests being answered now.",
    multiprocess_mode="livesum",
)
RATE_LIMIT_REFUSALS = Counter(
    "stores_api_rate_limit_refusals", "Requests answered 429, by the spec's quota policy.",
    ("policy",),
)
IDEMPOTENCY_KEYS = Counter(
    "stores_api_idempotency_keys",
    "Requests with an Idempotency-Key that were not run afresh: replayed (the kept "
    "answer), conflict (409: still running, or its resource deleted), "
    "unprocessable (422: the key was used for a different request).",
    ("outcome",),
)
TOKEN_REFRESHES = Counter(
    "stores_api_token_refreshes", "Refresh tokens exchanged for a new pair.")
REFRESH_TOKEN_REUSES = Counter(
    "stores_api_refresh_token_reuses",
    "Refresh tokens presented after their rotation's leeway: each ended its login's chain.")
LOGIN_FAILURES = Counter(
    "stores_api_login_failures", "Logins refused for a wrong username or password.")
DB_POOL_SIZE = Gauge(
    "stores_api_db_pool_size", "Connections the database pools keep open, at most.",
    multiprocess_mode="livesum")
DB_POOL_CHECKED_OUT = Gauge(
    "stores_api_db_pool_checked_out", "Connections of the pools in use now.",
    multiprocess_mode="livesum")
DB_POOL_OVERFLOW = Gauge(
    "stores_api_db_pool_overflow", "Connections open beyond the pools' size now.",
    multiprocess_mode="livesum")
BUILD_INFO = Gauge(
    "stores_api_build_info", "Always 1: the service's version and its contract's.",
    ("version", "contract_version"), multiprocess_mode="max")


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "_OTHER"
