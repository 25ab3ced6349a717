"""Traces (api/process/tracing.py): with OTEL_EXPORTER_OTLP_ENDPOINT set, one
server span per request named by its route, the database's statements as its
descendants, the caller's traceparent honoured, the trace id in the access
log, and the spans sent over OTLP/HTTP; unset, nothing of OpenTelemetry."""

import functools
import gzip
import http.server
import queue
import subprocess
import sys
import threading
import time

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import api.app
from api.process import tracing
from api.process.pruning import prune
from tests.conftest import API

UPDATE_ITEM = "PUT /api/v1/items/{item_id}"
CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
WAIT_SECONDS = 10


@pytest.fixture
def exported(app_with, monkeypatch):
    """A traced app on the suite's database whose spans stay in memory: its
    test client, and the finished spans."""
    app, exporter = traced_app(app_with, monkeypatch)
    with app.test_client() as client:  # its lifespan ends the tracing too
        yield client, exporter


def traced_app(app_with, monkeypatch):
    """An app with tracing on whose spans go to an in-memory exporter."""
    exporter = InMemorySpanExporter()
    monkeypatch.setattr(api.app, "start_tracing", functools.partial(
        tracing.start_tracing, span_processor=SimpleSpanProcessor(exporter)))
    return app_with(otel_exporter_otlp_endpoint="http://127.0.0.1:4318"), exporter


def server_spans(spans):
    return [span for span in spans if span.kind is SpanKind.SERVER]


def chain_reaches(span, ancestor, spans) -> bool:
    by_id = {s.context.span_id: s for s in spans}
    while span.parent is not None:
        if span.parent.span_id == ancestor.context.span_id:
            return True
        span = by_id.get(span.parent.span_id)
        if span is None:
            return False
    return False


def test_a_request_is_one_server_span_named_by_its_route(auth, item, exported):
    client, exporter = exported
    response = client.put(f"{API}/items/{item['id']}", json={"name": "Big lamp", "price": "17.5"},
                          headers=auth)
    assert response.status_code == 200, response.text
    [server] = server_spans(exporter.get_finished_spans())
    assert server.name == UPDATE_ITEM
    assert server.attributes["operationId"] == "replaceItem"
    assert server.attributes["http.route"] == "/api/v1/items/{item_id}"
    assert server.attributes["http.status_code"] == 200


def test_database_statements_are_descendants_of_the_request_span(auth, item, exported):
    client, exporter = exported
    client.put(f"{API}/items/{item['id']}", json={"name": "Big lamp", "price": "17.5"}, headers=auth)
    spans = exporter.get_finished_spans()
    [server] = server_spans(spans)
    statements = [span for span in spans if span.name.split()[0] in ("SELECT", "UPDATE")]
    # The token check, the item read and the update, all on handler threads.
    assert {span.name.split()[0] for span in statements} == {"SELECT", "UPDATE"}
    for span in statements:
        assert span.context.trace_id == server.context.trace_id
        assert chain_reaches(span, server, spans), span.name
    # Nothing of this request went unparented.
    assert [span.name for span in spans if span.parent is None] == [UPDATE_ITEM]


def test_a_callers_traceparent_is_honoured_and_logged(auth, item, exported, access_lines):
    client, exporter = exported
    traceparent = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"
    response = client.put(f"{API}/items/{item['id']}", json={"name": "Big lamp", "price": "17.5"},
                          headers={**auth, "traceparent": traceparent})
    assert response.status_code == 200, response.text
    [server] = server_spans(exporter.get_finished_spans())
    assert format(server.context.trace_id, "032x") == CALLER_TRACE_ID
    assert server.parent.is_remote
    assert format(server.parent.span_id, "016x") == CALLER_SPAN_ID
    [line] = [line for line in access_lines if line["method"] == "PUT"]
    assert line["trace_id"] == CALLER_TRACE_ID


def test_every_access_line_carries_its_requests_trace_id(auth, exported, access_lines):
    client, exporter = exported
    client.get(f"{API}/stores", headers=auth)
    [server] = server_spans(exporter.get_finished_spans())
    [line] = access_lines
    assert line["trace_id"] == format(server.context.trace_id, "032x")
    assert len(line["trace_id"]) == 32


def test_a_path_no_operation_matches_is_named_by_its_method_alone(auth, exported):
    client, exporter = exported
    response = client.get(f"{API}/no-such-thing/12345", headers=auth)
    assert response.status_code == 404
    [server] = server_spans(exporter.get_finished_spans())
    assert server.name == "GET"
    assert "operationId" not in server.attributes and "http.route" not in server.attributes


def test_an_unknown_method_is_not_the_callers_text_in_the_span_name(exported):
    client, exporter = exported
    client.request("BREW", f"{API}/stores")
    [server] = server_spans(exporter.get_finished_spans())
    assert server.name == "HTTP"


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector's traces endpoint: keeps what it is sent."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.received.put((self.path, self.headers["Content-Type"], request))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    server.received = queue.Queue()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=WAIT_SECONDS)


def test_spans_reach_an_otlp_http_collector(app_with, auth, item, collector, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the exporter's requests reads proxies
    endpoint = f"http://127.0.0.1:{collector.server_port}/"
    app = app_with(otel_exporter_otlp_endpoint=endpoint)
    started = time.monotonic()
    with app.test_client() as client:
        response = client.put(f"{API}/items/{item['id']}",
                              json={"name": "Big lamp", "price": "17.5"}, headers=auth)
        assert response.status_code == 200, response.text
    # The lifespan's end shut the provider down, which flushed the batch.
    spans, deadline = [], started + WAIT_SECONDS
    while not any(span.name == UPDATE_ITEM for span in spans):
        path, content_type, request = collector.received.get(
            timeout=max(deadline - time.monotonic(), 0.01))
        assert path == "/v1/traces"
        assert content_type == "application/x-protobuf"
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert resource["service.name"] == "stores-api"
            assert resource["service.version"]
            for scope_spans in resource_spans.scope_spans:
                spans.extend(scope_spans.spans)
    [server] = [span for span in spans if span.name == UPDATE_ITEM]
    attributes = {a.key: a.value for a in server.attributes}
    assert attributes["operationId"].string_value == "replaceItem"
    assert attributes["http.route"].string_value == "/api/v1/items/{item_id}"
    assert attributes["http.status_code"].int_value == 200
    assert any(span.name.startswith("UPDATE") and span.parent_span_id for span in spans)


@pytest.mark.slow
def test_without_an_endpoint_nothing_of_opentelemetry_is_imported(tmp_path):
    check = f"""
import sys
from api.app import create_app
from api.runtime.config import Settings
settings = Settings(instance_path={str(tmp_path)!r})
assert settings.otel_exporter_otlp_endpoint is None
app = create_app(settings)
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
assert not loaded, loaded
layers = [getattr(m, "func", m) for m in app.middleware.middlewares]
assert not any("tracing" in getattr(m, "__module__", "") for m in layers), layers
"""
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path.parent)
    assert done.returncode == 0, done.stderr


def test_an_endpoint_without_the_extra_fails_at_start_naming_it(app_with, monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(RuntimeError, match=r"pip install 'stores-api\[otel\]'"):
        app_with(otel_exporter_otlp_endpoint="http://127.0.0.1:4318")


def test_the_endpoint_is_read_from_the_environment(monkeypatch):
    from api.runtime.config import Settings

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert Settings().otel_exporter_otlp_endpoint == "http://collector:4318"
    assert tracing.traces_endpoint("http://collector:4318/") == "http://collector:4318/v1/traces"


def test_a_span_carries_no_query_string_and_no_long_path(auth, exported):
    """As the access log: what a caller typed after `?` may be anything, and
    a path is cut."""
    client, exporter = exported
    secret = "s3cr3t-" + "q" * 40
    client.get(f"{API}/stores?name={secret}", headers=auth)
    client.get(f"{API}/{'x' * 5000}", headers=auth)
    texts = [str(value) for span in server_spans(exporter.get_finished_spans())
             for value in span.attributes.values()]
    assert not [text for text in texts if secret in text]
    assert max(len(text) for text in texts) <= 300


def test_probes_and_work_outside_any_request_make_no_trace(exported):
    """Only requests start traces: a load balancer's probe every few seconds,
    or the pruning of expired rows, would each be a trace of one lone span."""
    client, exporter = exported
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200  # connects to the database
    prune(client.app.services.database)  # statements outside any request
    assert exporter.get_finished_spans() == ()


def test_otel_traces_sampler_still_decides_for_requests(app_with, auth, monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    app, exporter = traced_app(app_with, monkeypatch)
    with app.test_client() as client:
        assert client.get(f"{API}/stores", headers=auth).status_code == 200
    assert exporter.get_finished_spans() == ()
