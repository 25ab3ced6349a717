"""Configuration, read once from the environment into one object."""

import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

# Relative to the working directory: never inside an installed package.
DEFAULT_INSTANCE_PATH = Path("instance")
SECRET_KEY_FILE = "jwt-secret.key"
# Threads per worker process for handlers and database work: enough to overlap
# the database's round trips, few enough not to fight over the GIL. Measured in
# docs/performance.md.
DEFAULT_HANDLER_THREADS = 4
# passlib's argon2 defaults: 3 passes over 64 MiB.
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_KIB = 65_536
# How often a token view's listener checks that it is current
# (api/identity/token_view.py); its bound is at least two beats.
BEAT_SECONDS = 0.2
# Room for the largest body of the spec (an item with a 1,000-character
# description, each character escaped) many times over.
DEFAULT_MAX_BODY_BYTES = 256 * 1024
# HS256 keys shorter than the hash (RFC 7518, 3.2) are refused.
MIN_SECRET_KEY_BYTES = 32


@dataclass(frozen=True)
class Settings:
    database_url: str
    jwt_secret_key: str
    access_token_lifetime: timedelta = timedelta(minutes=15)
    refresh_token_lifetime: timedelta = timedelta(days=30)
    # How long after its rotation a refresh token presented again gets the
    # same new pair instead of ending its chain (a retry whose answer was lost).
    refresh_reuse_leeway: timedelta = timedelta(seconds=30)
    # How long a login's device token lets the device skip the username's
    # failure budget (api/identity/device_tokens.py).
    device_token_lifetime: timedelta = timedelta(days=90)
    log_level: str = "INFO"
    access_log: str | None = None
    validate_responses: bool = False
    instance_path: Path = DEFAULT_INSTANCE_PATH
    password_hash_time_cost: int = DEFAULT_TIME_COST
    password_hash_memory_kib: int = DEFAULT_MEMORY_KIB
    handler_threads: int = DEFAULT_HANDLER_THREADS
    # Password checks per worker at once, on threads of their own, and how
    # many more logins may wait for one before 503 (api/identity/password_checks.py).
    password_hash_threads: int = 1
    password_hash_waiting: int = 8
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Seconds a connection has to send a request's head (api/serving/bounded_head.py).
    request_head_timeout_seconds: float = 10.0
    # scheme://host[:port] that clients use; absolute URLs are built from it.
    public_url: str | None = None
    # Addresses whose X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted_proxies: tuple[str, ...] = ()
    # Origins whose browser pages may call the API (CORS); none unless listed.
    cors_origins: tuple[str, ...] = ()
    # Where rate-limit counters live: redis://host:port/db shares them between
    # workers and hosts; unset, each process counts in its own memory.
    rate_limit_storage_url: str | None = None
    # Multiplies every quota of the spec (test servers raise it; production: 1).
    rate_limit_scale: float = 1.0
    # Keys in a shared Redis start with it: one Redis can serve several deployments.
    rate_limit_key_prefix: str = "stores-api"
    # IPv6 callers without a token are counted by this prefix of their
    # address: one host is usually given a whole /64, 2^64 addresses.
    rate_limit_ipv6_prefix: int = 64
    # Seconds between two prunes of expired rows in each worker; 0: never.
    prune_interval_seconds: float = 3600.0
    # On PostgreSQL, a revocation is refused by every worker of every host
    # within this many seconds, without a database round trip per request
    # (api/identity/token_view.py); 0: every request asks the database.
    token_view_bound_seconds: float = 1.0
    # GET /metrics for Prometheus (api/process/probes.py), to loopback and
    # these addresses or networks only.
    metrics_enabled: bool = True
    metrics_allowed_ips: tuple[str, ...] = ()
    # Where gunicorn's workers keep their metrics for a scrape to sum; unset,
    # `serve --workers` makes a temporary directory.
    metrics_dir: Path | None = None
    # After SIGTERM, /readyz answers 503 and the process serves on for this
    # long, for the load balancer to take it out; then it drains.
    shutdown_delay_seconds: float = 5.0
    # `text`: the service's own lines as text; `json`: one object a line
    # (access lines are JSON either way).
    log_format: str = "text"
    # An OTLP/HTTP collector's base URL: set, each request is traced
    # (api/process/tracing.py, the extra `otel`); unset, tracing costs nothing.
    otel_exporter_endpoint: str | None = None
    # True when JWT_SECRET_KEY was unset and the instance folder's key is used.
    secret_key_generated: bool = False

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        instance = Path(env.get("INSTANCE_PATH") or DEFAULT_INSTANCE_PATH).absolute()
        values = dict(
            database_url=env.get("DATABASE_URL")
            or f"sqlite:///{instance / 'stores.db'}",
            jwt_secret_key=env.get("JWT_SECRET_KEY") or None,
            access_token_lifetime=timedelta(
                seconds=int(env.get("ACCESS_TOKEN_SECONDS", 15 * 60))
            ),
            refresh_token_lifetime=timedelta(
                seconds=int(env.get("REFRESH_TOKEN_SECONDS", 30 * 24 * 3600))
            ),
            refresh_reuse_leeway=timedelta(
                seconds=float(env.get("REFRESH_REUSE_SECONDS", 30))
            ),
            device_token_lifetime=timedelta(
                seconds=int(env.get("DEVICE_TOKEN_SECONDS", 90 * 24 * 3600))
            ),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            access_log=env.get("ACCESS_LOG") or None,
            validate_responses=_flag(env.get("VALIDATE_RESPONSES", "")),
            instance_path=instance,
            password_hash_time_cost=int(
                env.get("PASSWORD_HASH_TIME_COST", DEFAULT_TIME_COST)
            ),
            password_hash_memory_kib=int(
                env.get("PASSWORD_HASH_MEMORY_KIB", DEFAULT_MEMORY_KIB)
            ),
            handler_threads=int(env.get("HANDLER_THREADS", DEFAULT_HANDLER_THREADS)),
            password_hash_threads=int(env.get("PASSWORD_HASH_THREADS", 1)),
            password_hash_waiting=int(env.get("PASSWORD_HASH_WAITING", 8)),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
            request_head_timeout_seconds=float(env.get("REQUEST_HEAD_TIMEOUT_SECONDS", 10)),
            public_url=env.get("PUBLIC_URL") or None,
            trusted_proxies=_list(env.get("TRUSTED_PROXIES", "")),
            cors_origins=tuple(public_origin(o) for o in _list(env.get("CORS_ORIGINS", ""))),
            rate_limit_storage_url=env.get("RATE_LIMIT_STORAGE_URL") or None,
            rate_limit_scale=float(env.get("RATE_LIMIT_SCALE", 1)),
            rate_limit_key_prefix=env.get("RATE_LIMIT_KEY_PREFIX") or "stores-api",
            rate_limit_ipv6_prefix=int(env.get("RATE_LIMIT_IPV6_PREFIX", 64)),
            prune_interval_seconds=float(env.get("PRUNE_INTERVAL_SECONDS", 3600)),
            token_view_bound_seconds=float(env.get("TOKEN_VIEW_BOUND_SECONDS", 1)),
            otel_exporter_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            metrics_enabled=_flag(env.get("METRICS_ENABLED", "true")),
            metrics_allowed_ips=_list(env.get("METRICS_ALLOWED_IPS", "")),
            metrics_dir=Path(env["PROMETHEUS_MULTIPROC_DIR"]).absolute()
            if env.get("PROMETHEUS_MULTIPROC_DIR") else None,
            shutdown_delay_seconds=float(env.get("SHUTDOWN_DELAY_SECONDS", 5)),
            log_format=env.get("LOG_FORMAT", "text").strip().lower(),
        )
        values.update(overrides)
        if not timedelta(0) <= values["refresh_reuse_leeway"] <= timedelta(seconds=60):
            raise ValueError("REFRESH_REUSE_SECONDS must be 0 to 60")
        if values["handler_threads"] < 1:
            raise ValueError("HANDLER_THREADS must be at least 1")
        if values["password_hash_threads"] < 1 or values["password_hash_waiting"] < 0:
            raise ValueError("PASSWORD_HASH_THREADS must be at least 1, "
                             "PASSWORD_HASH_WAITING at least 0")
        if not 0 < values["rate_limit_scale"] < float("inf"):
            raise ValueError("RATE_LIMIT_SCALE must be a positive number")
        if not 32 <= values["rate_limit_ipv6_prefix"] <= 128:
            raise ValueError("RATE_LIMIT_IPV6_PREFIX must be 32 to 128")
        if not 0 <= values["prune_interval_seconds"] < float("inf"):
            raise ValueError("PRUNE_INTERVAL_SECONDS must be 0 or more")
        bound = values["token_view_bound_seconds"]
        if not (bound == 0 or 2 * BEAT_SECONDS <= bound <= 60):
            raise ValueError(f"TOKEN_VIEW_BOUND_SECONDS must be 0, or {2 * BEAT_SECONDS} to 60")
        if not 0 < values["request_head_timeout_seconds"] <= 300:
            raise ValueError("REQUEST_HEAD_TIMEOUT_SECONDS must be more than 0, at most 300")
        for network in values["metrics_allowed_ips"]:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError("METRICS_ALLOWED_IPS must list addresses or networks "
                                 "(10.0.0.5, 10.0.0.0/8), separated by commas") from None
        if not 0 <= values["shutdown_delay_seconds"] <= 120:
            raise ValueError("SHUTDOWN_DELAY_SECONDS must be 0 to 120")
        if values["log_format"] not in ("text", "json"):
            raise ValueError("LOG_FORMAT must be text or json")
        if values["max_body_bytes"] < 1024:
            raise ValueError("MAX_BODY_BYTES must be at least 1024")
        if values["public_url"]:
            values["public_url"] = public_origin(values["public_url"])
        if not values["jwt_secret_key"]:
            values["jwt_secret_key"] = instance_secret_key(values["instance_path"])
            values["secret_key_generated"] = True
        elif len(values["jwt_secret_key"].encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes")
        if values["database_url"].startswith("sqlite:///"):
            Path(values["instance_path"]).mkdir(parents=True, exist_ok=True)
        return cls(**values)


    def check_secret_for_serving(self) -> None:
        """Refuse to serve with a key only this host knows when other hosts may
        share the database: they would reject every token this one signs."""
        if self.secret_key_generated and not self.database_url.startswith("sqlite"):
            raise ValueError(
                "JWT_SECRET_KEY is unset: set it, the same on every host, to serve from "
                "a shared database (a generated key is for SQLite development only)"
            )


def public_origin(url: str) -> str:
    """PUBLIC_URL as scheme://host[:port]: the API's paths are appended to it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") \
            or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{url!r} must be http(s)://host[:port], without a path")
    return f"{parts.scheme}://{parts.netloc}"


def _list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_secret_key(instance_path: Path) -> str:
    """The development signing key: made once, kept private, reused on restart."""
    instance_path = Path(instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / SECRET_KEY_FILE
    try:
        # O_EXCL: two processes starting together agree on one key.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()
