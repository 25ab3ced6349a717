"""A serving process's settings, read once from the environment: by the
command line before it serves (gunicorn's workers get them from it), or by
a process of uvicorn's reloader, which starts without them."""

from api.process.logs import configure_logging
from api.process.metrics import read_as_the_settings_read
from api.runtime.config import Settings


def settings_for_serving(settings: Settings | None = None) -> Settings:
    """`settings` (read from the environment when None), checked for serving,
    with logging set up from them, and what libraries read of the
    environment themselves made to agree with them."""
    settings = settings or Settings()
    settings.check_secret_for_serving()
    configure_logging(settings)
    read_as_the_settings_read(settings.prometheus_multiproc_dir)
    return settings
