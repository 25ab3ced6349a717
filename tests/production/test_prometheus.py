"""The monitoring kit of docs/monitoring against a real Prometheus: the rules
are valid and fire in their unit tests, Prometheus counts per operationId
exactly what was sent to two gunicorn workers, and every metric the rules and
the dashboard name is one the service exposes."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.http import call, register_and_login
from tests.live_server import free_port, live_server

MONITORING = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
RULES = MONITORING / "alerts.yml"
RULES_TEST = MONITORING / "alerts.test.yml"
DASHBOARD = MONITORING / "dashboard.json"
JOB = "stores-api"
WAIT_SECONDS = 60
# A request is counted once its answer is sent: a scrape this long after the
# last answer sees it.
SETTLE_SECONDS = 1.0
HEALTH_CHECKS = 40
STORE_LISTS = 25
# Identifiers of the service's metrics in PromQL; a recording rule's name
# (`job:http_server_...:ratio_rate5m`) is not one.
METRIC_NAME = re.compile(r"(?<![\w:])((?:http_server_|stores_api_)\w+)(?![\w:])")


def tool(name: str) -> str:
    """The path of Prometheus's `name`; CI must have it, elsewhere it is optional."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed: apt-get install prometheus (.ci/run installs it in CI)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def test_alert_rules_are_valid():
    result = subprocess.run([tool("promtool"), "check", "rules", str(RULES)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_scrapes_the_service_with_these_rules(tmp_path):
    """compose.yaml's Prometheus: its configuration (docs/monitoring/
    prometheus.yml) is valid, scrapes the `api` service as job `stores-api`,
    and loads alerts.yml where compose.yaml mounts it."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    compose = yaml.safe_load((MONITORING.parents[1] / "compose.yaml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./docs/monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
    assert "./docs/monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    [job] = config["scrape_configs"]
    assert (job["job_name"], job["static_configs"][0]["targets"]) == (JOB, ["api:8000"])
    config["rule_files"] = [str(RULES)]  # where the host has it
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(config))
    result = subprocess.run([tool("promtool"), "check", "config", str(checked)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_in_the_rules_unit_tests():
    result = subprocess.run([tool("promtool"), "test", "rules", str(RULES_TEST)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    fired = {case["alertname"] for test in yaml.safe_load(RULES_TEST.read_text())["tests"]
             for case in test["alert_rule_test"] if case.get("exp_alerts")}
    assert alerts and alerts == fired


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params) -> dict:
        reply = call("GET", f"{self.url}{path}?{urllib.parse.urlencode(params)}", timeout=10)
        assert reply.status == 200, reply.body
        answer = reply.json()
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        return self.get("/api/v1/query", **params)["result"]

    def scrape_after(self, moment: float) -> float:
        """The time of a successful scrape of the service that began after
        `moment` (a time.time()): the first Prometheus reports."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            # timestamp() of the raw series: the scrape's time, not the query's.
            found = self.query(f'timestamp(up{{job="{JOB}"}})')
            scraped = float(found[0]["value"][1]) if found else 0.0
            if scraped > moment and self.query(f'up{{job="{JOB}"}}', scraped) \
                    [0]["value"][1] == "1":
                return scraped
            time.sleep(0.2)
        raise AssertionError(f"no scrape after {moment} within {WAIT_SECONDS} s")

    def requests_by_operation(self, at: float) -> dict[str, float]:
        """http_server_request_duration_seconds_count per operationId, every
        method and status summed, as the scrape at `at` read it."""
        found = self.query(
            f'sum by (operation_id) (http_server_request_duration_seconds_count{{job="{JOB}"}})',
            at)
        return {series["metric"]["operation_id"]: float(series["value"][1]) for series in found}


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """Two gunicorn workers, and a real Prometheus scraping them every second
    with the rules of docs/monitoring loaded. Quotas as the spec writes them
    (a few failed logins reach one), and no refresh leeway (a second use of a
    refresh token is a reuse)."""
    prometheus_binary = tool("prometheus")
    tmp_path = tmp_path_factory.mktemp("prometheus")
    with live_server(tmp_path, workers=2, RATE_LIMIT_SCALE="1",
                     REFRESH_REUSE_SECONDS="0") as server:
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{
                "job_name": JOB,
                "static_configs": [{"targets": [server.url.removeprefix("http://")]}],
            }],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        log_path = tmp_path / "prometheus.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [prometheus_binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp_path / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            prometheus = Prometheus(f"http://127.0.0.1:{port}")
            wait_until_ready(prometheus, process, log_path)
            yield server, prometheus
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_until_ready(prometheus: Prometheus, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"prometheus exited:\n{log_path.read_text()}"
        try:
            if call("GET", f"{prometheus.url}/-/ready", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"prometheus was not ready within {WAIT_SECONDS} s:\n"
                         f"{log_path.read_text()}")


def test_prometheus_counts_per_operation_what_was_sent(monitored):
    server, prometheus = monitored
    token = register_and_login(server.api, "counted")["access_token"]
    before = prometheus.requests_by_operation(
        prometheus.scrape_after(time.time() + SETTLE_SECONDS))

    for _ in range(HEALTH_CHECKS):
        assert call("GET", f"{server.api}/health").status == 200
    for _ in range(STORE_LISTS):
        assert call("GET", f"{server.api}/stores", token=token).status == 200

    after = prometheus.requests_by_operation(
        prometheus.scrape_after(time.time() + SETTLE_SECONDS))
    assert after.get("getHealth", 0) - before.get("getHealth", 0) == HEALTH_CHECKS
    assert after.get("listStores", 0) - before.get("listStores", 0) == STORE_LISTS
    assert prometheus.query(f'sum(http_server_active_requests{{job="{JOB}"}})') \
        [0]["value"][1] == "0"


def test_every_metric_the_rules_and_the_dashboard_name_is_exposed(monitored):
    server, prometheus = monitored
    cause_every_labelled_counter(server)
    named = metric_names_in(RULES.read_text()) | metric_names_in(DASHBOARD.read_text())
    assert {"http_server_request_duration_seconds_bucket", "http_server_active_requests",
            "stores_api_build_info"} <= named  # the pattern finds them

    reply = call("GET", f"{server.url}/metrics")
    assert reply.status == 200
    exposed = {sample.name for family in text_string_to_metric_families(reply.body.decode())
               for sample in family.samples}
    assert named - exposed == set()


def test_the_dashboards_queries_and_the_rules_run_in_prometheus(monitored):
    _, prometheus = monitored
    for expr in dashboard_queries():
        prometheus.query(expr
                         .replace("$__rate_interval", "1m")
                         .replace('"$job"', f'"{JOB}"')
                         .replace('"$instance"', '".*"'))
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        rules = [rule for group in prometheus.get("/api/v1/rules")["groups"]
                 for rule in group["rules"]]
        if rules and all(rule["health"] != "unknown" for rule in rules):
            break
        assert time.monotonic() < deadline, rules
        time.sleep(0.5)
    assert [(rule["name"], rule.get("lastError")) for rule in rules
            if rule["health"] != "ok"] == []


def cause_every_labelled_counter(server) -> None:
    """One sample at least of each counter, since a counter nothing has
    counted yet is missing from a multiprocess scrape."""
    pair = register_and_login(server.api, "exposed")
    # login_failures, then a login-* quota's refusal. Rate limits count per
    # worker here (no Redis): each of the two may see its share first.
    statuses = []
    while 429 not in statuses:
        assert len(statuses) < 30, statuses
        statuses.append(call("POST", f"{server.api}/auth/login",
                             {"username": "guessed", "password": "wrong-password"}).status)
    assert set(statuses) == {401, 429}
    # idempotency_keys{outcome="replayed"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    for expected in (201, 201):
        reply = call("POST", f"{server.api}/stores", {"name": "Counted Corner"},
                     token=pair["access_token"], headers=key)
        assert reply.status == expected, reply.body
    # token_refreshes, then refresh_token_reuses: no leeway in this server.
    assert call("POST", f"{server.api}/auth/refresh", token=pair["refresh_token"]).status == 200
    assert call("POST", f"{server.api}/auth/refresh", token=pair["refresh_token"]).status == 401


def metric_names_in(text: str) -> set[str]:
    return set(METRIC_NAME.findall(text))


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"]
            for target in panel.get("targets", ())]
