"""The pieces of a serving process that live servers run out of coverage's
sight (tests/production/test_draining.py and test_metrics_workers.py run
them for real): the drain's timing, gunicorn's lines, the shared metrics
directory."""

import json
import logging
import signal
import time

import pytest
from uvicorn import Config as UvicornConfig

from api import server
from api.process import metrics
from api.runtime.draining import DRAINING


@pytest.fixture
def not_draining(monkeypatch):
    monkeypatch.setattr(DRAINING, "since", None)


def test_sigterm_marks_draining_at_once_and_exits_after_the_delay(not_draining):
    drain = server.DrainingServer(UvicornConfig(app=None, log_config=None), shutdown_delay=0.2)
    drain.handle_exit(signal.SIGTERM, None)
    assert DRAINING.underway and not drain.should_exit
    drain.handle_exit(signal.SIGTERM, None)  # a second SIGTERM changes nothing
    deadline = time.monotonic() + 5
    while not drain.should_exit and time.monotonic() < deadline:
        time.sleep(0.02)
    assert drain.should_exit
    assert 0.2 <= time.monotonic() - DRAINING.since < 5


def test_sigint_and_a_zero_delay_stop_at_once(not_draining):
    interrupted = server.DrainingServer(UvicornConfig(app=None, log_config=None), shutdown_delay=5)
    interrupted.handle_exit(signal.SIGINT, None)
    assert interrupted.should_exit and not DRAINING.underway
    undelayed = server.DrainingServer(UvicornConfig(app=None, log_config=None), shutdown_delay=0)
    undelayed.handle_exit(signal.SIGTERM, None)
    assert undelayed.should_exit


@pytest.mark.parametrize("log_format, is_json", [("json", True), ("text", False)])
def test_gunicorns_lines_follow_log_format(settings, capsys, log_format, is_json):
    gunicorn = server.GunicornServer(settings.but(log_format=log_format), "127.0.0.1", 1, 2)
    lines = gunicorn.cfg.logger_class(gunicorn.cfg)
    lines.error_log.info("Booting worker with pid: %s", 42)
    logged = capsys.readouterr().err.strip().splitlines()[-1]
    if is_json:
        assert json.loads(logged) | {"time": None} == {
            "time": None, "level": "INFO", "logger": "gunicorn.error",
            "message": "Booting worker with pid: 42"}
    else:
        assert logged.endswith("[INFO] Booting worker with pid: 42")
    logging.getLogger("gunicorn.error").handlers.clear()


def test_the_graceful_timeout_makes_room_for_the_delay(settings):
    gunicorn = server.GunicornServer(settings.but(shutdown_delay_seconds=4.5), "127.0.0.1", 1, 2)
    assert gunicorn.cfg.graceful_timeout == server.GRACEFUL_TIMEOUT_SECONDS + 5
    assert gunicorn.cfg.child_exit is server._worker_exited


def test_the_shared_directory_is_refused_once_prometheus_client_is_imported(tmp_path):
    import prometheus_client  # noqa: F401 (the suite has imported it: as a late `serve` would)

    with pytest.raises(RuntimeError, match="workers would count apart"):
        metrics.share_between_workers(tmp_path)


def test_the_shared_directory_is_emptied_and_named(tmp_path, monkeypatch):
    monkeypatch.delitem(__import__("sys").modules, "prometheus_client")
    # Set here so that the test's end takes away what `share_between_workers` sets.
    monkeypatch.setenv(metrics.MULTIPROCESS_DIR_VARIABLE, "")
    (tmp_path / "counter_1.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    assert metrics.share_between_workers(tmp_path) == tmp_path
    assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]
    made = metrics.share_between_workers(None)
    assert made.is_dir() and made.name.startswith("stores-api-metrics-")
    assert metrics.os.environ[metrics.MULTIPROCESS_DIR_VARIABLE] == str(made)
    made.rmdir()


def test_a_scrape_with_a_shared_directory_sums_its_files(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.MULTIPROCESS_DIR_VARIABLE, str(tmp_path))
    text, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    assert text == b""  # no worker has written yet
    metrics.worker_exited(12345)  # nothing to mark: no error
