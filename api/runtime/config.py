"""The settings: each one line below (its environment variable, type, default,
bounds and meaning), read once by whoever starts the process and handed down.

`Settings()` reads the environment; `Settings.of(...)` takes values alone (a
test's); `settings.but(...)` changes some. All three validate. The table of
docs/operations.md is `settings_table()`, checked by tests/runtime/test_config.py.
"""

import ipaddress
import os
import secrets
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRET_KEY_FILE = "jwt-secret.key"
# HS256 keys shorter than the hash (RFC 7518, 3.2) are refused.
MIN_SECRET_KEY_BYTES = 32
# How often a token view's listener checks that it is current
# (api/identity/token_view.py); its bound is at least two beats.
BEAT_SECONDS = 0.2
# False while `Settings.of` builds settings from its arguments alone.
_READ_ENVIRONMENT = ContextVar("read_environment", default=True)


class SettingsError(ValueError):
    """Settings that cannot be used, named by their variables, never with their values."""


def public_origin(url: str) -> str:
    """PUBLIC_URL as scheme://host[:port]: the API's paths are appended to it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") \
            or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("must be http(s)://host[:port], without a path")
    return f"{parts.scheme}://{parts.netloc}"


def _comma_list(value):
    return tuple(part.strip() for part in value.split(",") if part.strip()) \
        if isinstance(value, str) else value


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError("must list addresses or networks (10.0.0.5, 10.0.0.0/8), "
                         "separated by commas") from None
    return value


def _token_view_bound(seconds: float) -> float:
    if not (seconds == 0 or 2 * BEAT_SECONDS <= seconds <= 60):
        raise ValueError(f"must be 0, or {2 * BEAT_SECONDS} to 60")
    return seconds


def _long_enough_key(key: SecretStr | None) -> SecretStr | None:
    if key is not None and len(key.get_secret_value().encode()) < MIN_SECRET_KEY_BYTES:
        raise ValueError(f"must be at least {MIN_SECRET_KEY_BYTES} bytes")
    return key


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
Origin = Annotated[str, AfterValidator(public_origin)]
Network = Annotated[str, AfterValidator(_network)]
Absolute = Annotated[Path, AfterValidator(Path.absolute)]
Lowered = BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value)
Uppered = BeforeValidator(lambda value: value.strip().upper() if isinstance(value, str) else value)


def setting(default, meaning: str, *, shown: str | None = None, **bounds):
    """A field: its default, its meaning (a cell of the docs' table, in
    Markdown), the default as the table shows it when the value alone does
    not say it, and its bounds (pydantic's `ge`, `le`...)."""
    factory = {"default_factory": default} if callable(default) else {"default": default}
    return Field(**factory, description=meaning, json_schema_extra={"shown": shown}, **bounds)


class Settings(BaseSettings):
    # Read from the variable of each name, upper case; an empty one is unset.
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="forbid",
                                      allow_inf_nan=False, validate_default=True)

    instance_path: Absolute = setting(
        Path("instance"), "where the SQLite database and the generated key live",
        shown="`instance/`")
    database_url: str = setting(
        lambda values: f"sqlite:///{values['instance_path'] / 'stores.db'}",
        "SQLAlchemy URL; PostgreSQL as `postgresql+psycopg://user@host/db`",
        shown="`sqlite:///instance/stores.db`", min_length=1)
    jwt_secret_key: Annotated[SecretStr | None, AfterValidator(_long_enough_key)] = setting(
        None, "HS256 signing key, at least 32 bytes; required to serve from PostgreSQL, "
        "where several hosts may share the database (`serve` stops with a message without it)",
        shown="generated once into `instance/jwt-secret.key` (mode 0600), on SQLite only")
    access_token_seconds: int = setting(900, "access token lifetime: a day at most, as the "
                                        "spec's `expires_in` says", shown="`900` (15 minutes)",
                                        ge=1, le=86_400)
    refresh_token_seconds: int = setting(2_592_000, "refresh token lifetime",
                                         shown="`2592000` (30 days)", ge=1)
    refresh_reuse_seconds: float = setting(
        30, "a refresh token presented again this soon after its use (0 to 60) gets the same "
        "new pair, as a retry; later it revokes its whole login", ge=0, le=60)
    device_token_seconds: int = setting(
        7_776_000, "how long a login's `device_token` lets that device's logins spend a "
        "budget of their own", shown="`7776000` (90 days)", ge=1)
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], Uppered] = \
        setting("INFO", "level of the service's logs (Connexion's own: warnings and above "
                "unless `DEBUG`)")
    log_format: Annotated[Literal["text", "json"], Lowered] = setting(
        "text", "`json`: every line of the process (the service's, gunicorn's, uvicorn's, the "
        "migrations', Python's warnings) is one JSON object with `time`, `level`, `logger`, "
        "`message`, and the `request_id` (and `trace_id`) of the request it belongs to; access "
        "lines are JSON objects in either format")
    access_log: Path | None = setting(
        None, "a file that gets one line per request, as stderr does (written in batches, at "
        "most 0.5 s after the request)")
    validate_responses: bool = setting(
        False, "validate every response against the spec (always on in tests)")
    password_hash_time_cost: int = setting(
        3, "argon2id passes per password hash (see the [performance page](performance.md))",
        ge=1)
    password_hash_memory_kib: int = setting(
        65_536, "argon2id memory per password hash, in KiB", ge=8)
    password_hash_threads: int = setting(
        1, "password checks per worker at once, on threads of their own (run at a lower "
        "priority than the handler threads)", ge=1)
    password_hash_waiting: int = setting(
        8, "logins per worker that may wait for a password thread; more get 503 with "
        "`Retry-After: 1`", ge=0)
    handler_threads: int = setting(
        4, "threads per worker that run handlers and database work; each of the worker's two "
        "database pools (transactions, and reads) has as many connections, and as many again "
        "of overflow (see the [performance page](performance.md))", ge=1)
    request_head_timeout_seconds: float = setting(
        10, "seconds a connection has to send a request's line and headers, from its opening "
        "or its previous request's end; then 408 and closed", gt=0, le=300)
    request_body_timeout_seconds: float = setting(
        30, "seconds a request's body has to arrive, from the end of its head; then 408 "
        "(unless the answer has gone out) and closed", gt=0, le=300)
    max_body_bytes: int = setting(
        256 * 1024, "largest request body; more is 413, counted while it is read (chunked "
        "bodies too)", shown="`262144` (256 KiB)", ge=1024)
    public_url: Origin | None = setting(
        None, "`https://host[:port]` that clients use: absolute URLs (`Link`, redirects) are "
        "built from it; unset, from the address the server listens on. Never from the "
        "request's `Host`")
    cors_origins: Annotated[tuple[Origin, ...], NoDecode, BeforeValidator(_comma_list)] = \
        setting((), "comma-separated origins (`https://app.example`) whose browser pages may "
                "call the API: they may send `Authorization`, `Content-Type`, `If-Match`, "
                "`If-None-Match`, `Idempotency-Key` and read `ETag`, `Location`, `Link`, "
                "`X-Request-ID`, `Retry-After`, `RateLimit`, `RateLimit-Policy`, `Deprecation`, "
                "`Sunset`; unset, no CORS header is sent")
    trusted_proxies: CommaList = setting(
        (), "comma-separated addresses whose `X-Forwarded-For` and `X-Forwarded-Proto` are "
        "believed; unset, nobody's (rate limits count the socket's address)")
    rate_limit_storage_url: str | None = setting(
        None, "`redis://host:port/db`: rate-limit counters shared by every worker and host; "
        "unset, each process counts in its own memory")
    rate_limit_scale: float = setting(
        1, "multiplies every quota of the spec; test servers raise it (`1000`), production "
        "leaves it at 1", gt=0)
    rate_limit_ipv6_prefix: int = setting(
        64, "IPv6 callers without a token are counted by this prefix of their address (32 to "
        "128): a host usually has a whole /64", ge=32, le=128)
    rate_limit_key_prefix: str = setting(
        "stores-api", "prefix of the counters' keys in Redis, so one Redis can serve several "
        "deployments", min_length=1)
    prune_interval_seconds: float = setting(
        3600, "each worker deletes expired token revocations and idempotency keys this often; "
        "`0`: never (run `stores-api prune` instead)", ge=0)
    token_view_bound_seconds: Annotated[float, AfterValidator(_token_view_bound)] = setting(
        1, "on PostgreSQL, a logout, a revoked chain or a deleted user is refused by every "
        "worker of every host within this many seconds, and access-token checks need no "
        "database round trip ([above](#running-in-production)); `0`: every request asks the "
        "database (`0.4` to `60` otherwise)")
    metrics_enabled: bool = setting(
        True, "`GET /metrics` for Prometheus ([Monitoring](#monitoring)); `false`: the path is "
        "unknown, and nothing is measured per request")
    metrics_allowed_ips: Annotated[tuple[Network, ...], NoDecode,
                                   BeforeValidator(_comma_list)] = setting(
        (), "comma-separated addresses or networks (`10.0.0.7`, `10.0.0.0/8`) that may scrape "
        "`/metrics` besides loopback; anyone else gets 404")
    prometheus_multiproc_dir: Absolute | None = setting(
        None, "with `--workers`, where each worker writes its metrics for a scrape to sum; "
        "`serve` empties it before the first worker starts", shown="a new temporary directory")
    shutdown_delay_seconds: float = setting(
        5, "after SIGTERM, `/readyz` answers 503 and the process serves on this long (0 to "
        "120) before it stops accepting and drains", ge=0, le=120)
    otel_exporter_otlp_endpoint: str | None = setting(
        None, "an OTLP/HTTP collector's base URL (`http://collector:4318`): one trace per "
        "request ([Traces](#traces)); needs `pip install 'stores-api[otel]'`")

    def __init__(self, **values) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(_described(error)) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        # The environment, unless `of` builds them; never a .env file or secrets dir.
        return (init_settings, env_settings) if _READ_ENVIRONMENT.get() else (init_settings,)

    @classmethod
    def of(cls, **values) -> "Settings":
        """These values and the defaults, whatever the environment says."""
        token = _READ_ENVIRONMENT.set(False)
        try:
            return cls(**values)
        finally:
            _READ_ENVIRONMENT.reset(token)

    def but(self, **changes) -> "Settings":
        """A copy with `changes`, validated as any settings are."""
        return self.of(**{**dict(self), **changes})

    @property
    def secret_key_generated(self) -> bool:
        return self.jwt_secret_key is None

    def signing_key(self) -> str:
        """JWT_SECRET_KEY, or the development key kept in the instance folder."""
        if self.jwt_secret_key is not None:
            return self.jwt_secret_key.get_secret_value()
        return instance_secret_key(self.instance_path)

    def check_secret_for_serving(self) -> None:
        """Refuse to serve with a key only this host knows when other hosts may
        share the database: they would reject every token this one signs."""
        if self.secret_key_generated and not self.database_url.startswith("sqlite"):
            raise SettingsError(
                "JWT_SECRET_KEY is unset: set it, the same on every host, to serve from "
                "a shared database (a generated key is for SQLite development only)"
            )


def _described(error: ValidationError) -> str:
    """Each problem as `VARIABLE: rule`, without the value: a secret's value
    never reaches a terminal or a log."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        name = str(problem["loc"][0]).upper() if problem["loc"] else "settings"
        lines.append(f"{name}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


def settings_table() -> str:
    """The table of docs/operations.md: variable, default, meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        shown = field.json_schema_extra["shown"]
        if shown is None:
            shown = _shown_default(field.default)
        rows.append(f"| `{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


def _shown_default(value) -> str:
    if value is None or value == ():
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


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
