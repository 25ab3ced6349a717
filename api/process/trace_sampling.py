"""Which spans start a trace: only a request's. Imported by
api/process/tracing.py once tracing is on (OpenTelemetry is the extra `otel`)."""

from opentelemetry import trace
from opentelemetry.sdk.trace import sampling
from opentelemetry.trace import SpanKind


class RequestsOnly(sampling.Sampler):
    """A span with no parent starts a trace only if it is a request's server
    span; then, and for every span inside one, the sampler OTEL_TRACES_SAMPLER
    names decides, as the SDK would choose it.

    Without it, what runs outside any request, a load balancer's /readyz
    every few seconds (its connect) or the pruning of expired rows (its
    statements), would send a trace of one lone span each time."""

    def __init__(self) -> None:
        # The SDK's own reading of OTEL_TRACES_SAMPLER and its argument; a
        # private function, watched by tests/process/test_tracing.py.
        self.sampler = sampling._get_from_env_or_default()

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                      links=None, trace_state=None) -> sampling.SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if not parent.is_valid and kind is not SpanKind.SERVER:
            return sampling.SamplingResult(sampling.Decision.DROP)
        return self.sampler.should_sample(parent_context, trace_id, name, kind, attributes,
                                          links, trace_state)

    def get_description(self) -> str:
        return f"RequestsOnly{{{self.sampler.get_description()}}}"
