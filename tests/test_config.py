"""Configuration from the environment."""

import stat
from datetime import timedelta

import pytest

from api.runtime.config import SECRET_KEY_FILE, Settings


def test_defaults_keep_the_database_and_key_in_the_instance_folder(tmp_path):
    settings = Settings.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'stores.db'}"
    assert settings.access_token_lifetime == timedelta(minutes=15)
    assert settings.refresh_token_lifetime == timedelta(days=30)
    assert settings.log_level == "INFO"
    assert settings.access_log is None
    assert settings.validate_responses is False
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (3, 65536)
    assert settings.handler_threads == 4


def test_an_unset_secret_key_is_generated_once_private_and_kept(tmp_path):
    first = Settings.from_env({"INSTANCE_PATH": str(tmp_path)}).jwt_secret_key
    key_file = tmp_path / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 64
    assert Settings.from_env({"INSTANCE_PATH": str(tmp_path)}).jwt_secret_key == first


def test_the_environment_sets_everything(tmp_path):
    settings = Settings.from_env({
        "INSTANCE_PATH": str(tmp_path),
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
    })
    assert settings.database_url == "postgresql+psycopg://db/stores"
    assert settings.jwt_secret_key == "from-the-environment-" + "k" * 32
    assert settings.access_token_lifetime == timedelta(seconds=60)
    assert settings.refresh_token_lifetime == timedelta(hours=1)
    assert settings.log_level == "DEBUG"
    assert settings.access_log == str(tmp_path / "access.log")
    assert settings.validate_responses is True
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (2, 19456)
    assert settings.handler_threads == 8
    assert settings.token_view_bound_seconds == 0
    assert not (tmp_path / SECRET_KEY_FILE).exists()


@pytest.mark.parametrize("bound", ["0.1", "61", "-1", "nan"])
def test_the_token_view_bound_is_0_or_several_beats(tmp_path, bound):
    with pytest.raises(ValueError, match="TOKEN_VIEW_BOUND_SECONDS must be 0, or 0.4 to 60"):
        Settings.from_env({"INSTANCE_PATH": str(tmp_path), "TOKEN_VIEW_BOUND_SECONDS": bound})


@pytest.mark.parametrize("threads", ["0", "-2"])
def test_a_worker_needs_at_least_one_handler_thread(tmp_path, threads):
    with pytest.raises(ValueError, match="HANDLER_THREADS must be at least 1"):
        Settings.from_env({"INSTANCE_PATH": str(tmp_path), "HANDLER_THREADS": threads})


def test_a_short_secret_key_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Settings.from_env({"INSTANCE_PATH": str(tmp_path), "JWT_SECRET_KEY": "k" * 31})


def test_a_generated_key_serves_sqlite_but_not_a_shared_database(tmp_path):
    Settings.from_env({"INSTANCE_PATH": str(tmp_path)}).check_secret_for_serving()
    shared = Settings.from_env({"INSTANCE_PATH": str(tmp_path),
                                "DATABASE_URL": "postgresql+psycopg://db/stores"})
    with pytest.raises(ValueError, match="JWT_SECRET_KEY is unset"):
        shared.check_secret_for_serving()
    Settings.from_env({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql+psycopg://db/s",
                       "JWT_SECRET_KEY": "k" * 32}).check_secret_for_serving()
