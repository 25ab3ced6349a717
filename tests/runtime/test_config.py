"""The settings (api/runtime/config.py): one definition each, read from the
environment, validated however they are built, the docs' table made from them."""

import re
import stat
from pathlib import Path

import pytest

from api.runtime.config import SECRET_KEY_FILE, Settings, SettingsError, settings_table

OPERATIONS_DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """Only what a test sets: no variable of the machine's reaches the settings."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    return monkeypatch


def test_defaults_keep_the_database_and_key_in_the_instance_folder(environment, tmp_path):
    settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'stores.db'}"
    assert (settings.access_token_seconds, settings.refresh_token_seconds) == (900, 30 * 86400)
    assert settings.log_level == "INFO"
    assert settings.access_log is None
    assert settings.validate_responses is False
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (3, 65536)
    assert settings.handler_threads == 4


def test_an_unset_secret_key_is_generated_once_private_and_kept(environment, tmp_path):
    first = Settings().signing_key()
    key_file = tmp_path / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 64
    assert Settings().signing_key() == first


def test_the_environment_sets_everything(environment, tmp_path):
    for name, value in {
        "DATABASE_URL": "postgresql+psycopg://db/stores",
        "JWT_SECRET_KEY": "from-the-environment-" + "k" * 32,
        "ACCESS_TOKEN_SECONDS": "60",
        "REFRESH_TOKEN_SECONDS": "3600",
        "LOG_LEVEL": "debug",
        "ACCESS_LOG": str(tmp_path / "access.log"),
        "VALIDATE_RESPONSES": "true",
        "PASSWORD_HASH_TIME_COST": "2",
        "PASSWORD_HASH_MEMORY_KIB": "19456",
        "HANDLER_THREADS": "8",
        "TOKEN_VIEW_BOUND_SECONDS": "0",
        "TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2",
        "METRICS_ALLOWED_IPS": "10.0.0.0/8",
    }.items():
        environment.setenv(name, value)
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://db/stores"
    assert settings.signing_key() == "from-the-environment-" + "k" * 32
    assert (settings.access_token_seconds, settings.refresh_token_seconds) == (60, 3600)
    assert settings.log_level == "DEBUG"
    assert settings.access_log == tmp_path / "access.log"
    assert settings.validate_responses is True
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (2, 19456)
    assert settings.handler_threads == 8
    assert settings.token_view_bound_seconds == 0
    assert settings.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert settings.metrics_allowed_ips == ("10.0.0.0/8",)
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_an_empty_variable_is_unset(environment):
    environment.setenv("HANDLER_THREADS", "")
    environment.setenv("PUBLIC_URL", "")
    settings = Settings()
    assert (settings.handler_threads, settings.public_url) == (4, None)


@pytest.mark.parametrize("name, value, rule", [
    ("TOKEN_VIEW_BOUND_SECONDS", "0.1", "must be 0, or 0.4 to 60"),
    ("TOKEN_VIEW_BOUND_SECONDS", "61", "must be 0, or 0.4 to 60"),
    ("TOKEN_VIEW_BOUND_SECONDS", "nan", "finite number"),
    ("HANDLER_THREADS", "0", "greater than or equal to 1"),
    ("HANDLER_THREADS", "four", "valid integer"),
    ("REFRESH_REUSE_SECONDS", "61", "less than or equal to 60"),
    ("RATE_LIMIT_SCALE", "inf", "finite number"),
    ("RATE_LIMIT_IPV6_PREFIX", "16", "greater than or equal to 32"),
    ("SHUTDOWN_DELAY_SECONDS", "-1", "greater than or equal to 0"),
    ("MAX_BODY_BYTES", "100", "greater than or equal to 1024"),
    ("LOG_FORMAT", "xml", "'text' or 'json'"),
    ("LOG_LEVEL", "loud", "'DEBUG', 'INFO'"),
    ("METRICS_ALLOWED_IPS", "10.0.0.5, intranet", "must list addresses or networks"),
    ("PUBLIC_URL", "https://shop.example/api", "without a path"),
    ("VALIDATE_RESPONSES", "maybe", "valid boolean"),
])
def test_a_setting_out_of_its_bounds_is_refused_naming_the_variable(environment, name, value,
                                                                     rule):
    environment.setenv(name, value)
    with pytest.raises(SettingsError, match=f"^{name}: .*{re.escape(rule)}"):
        Settings()


def test_a_refusal_never_shows_the_value(environment):
    environment.setenv("JWT_SECRET_KEY", "my-secret-of-31-bytes-123456789")
    with pytest.raises(SettingsError) as refused:
        Settings()
    assert str(refused.value) == "JWT_SECRET_KEY: must be at least 32 bytes"


def test_settings_built_in_code_are_validated_as_the_environments(settings):
    with pytest.raises(SettingsError, match="^HANDLER_THREADS: .*greater than or equal to 1"):
        settings.but(handler_threads=0)
    with pytest.raises(SettingsError, match="^REFRESH_REUSE_SECONDS: "):
        Settings.of(refresh_reuse_seconds=-1)
    with pytest.raises(SettingsError, match="^HANDLER_TREADS: .*Extra inputs"):
        settings.but(handler_treads=2)
    assert settings.but(handler_threads=2).handler_threads == 2


def test_settings_built_in_code_ignore_the_environment(environment):
    environment.setenv("HANDLER_THREADS", "7")
    assert Settings.of().handler_threads == 4
    assert Settings().handler_threads == 7


def test_a_generated_key_serves_sqlite_but_not_a_shared_database(environment):
    Settings().check_secret_for_serving()
    environment.setenv("DATABASE_URL", "postgresql+psycopg://db/stores")
    with pytest.raises(SettingsError, match="JWT_SECRET_KEY is unset"):
        Settings().check_secret_for_serving()
    environment.setenv("JWT_SECRET_KEY", "k" * 32)
    Settings().check_secret_for_serving()


def test_the_operations_page_lists_every_setting_as_defined():
    """docs/operations.md's table is settings_table(): a setting added,
    renamed or changed in code and not in the docs fails here."""
    page = OPERATIONS_DOC.read_text()
    assert settings_table() in page
