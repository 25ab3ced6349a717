"""A serving process's settings, read once: by the command line before it
starts the server (gunicorn's workers inherit them through the fork), or by
the factory when nothing read them first (`uvicorn --factory api.app:create_app`,
or a process of uvicorn's reloader)."""

from api.process.logs import configure_logging
from api.runtime.config import Settings


def settings_for_serving() -> Settings:
    """From the environment, checked for serving, with logging set up from them."""
    settings = Settings.from_env()
    settings.check_secret_for_serving()
    configure_logging(settings.log_level, settings.access_log, settings.log_format)
    return settings
