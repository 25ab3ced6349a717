"""Schemathesis data hooks shared by the command-line and the in-process runs."""

import schemathesis

# Values only the server can issue. A schema can say what a cursor, an ETag or a token
# looks like, never which ones exist: a random one is rightly refused with 400
# (the contract says so), so it is not "valid data". Positive cases leave these
# optional fields out; negative cases still send malformed ones and expect 400.
SERVER_ISSUED_QUERY = {"cursor"}
SERVER_ISSUED_HEADERS = {"If-Match", "If-None-Match"}  # ETags
SERVER_ISSUED_BODY = {"/auth/logout": {"refresh_token"}}


@schemathesis.hook
def before_call(ctx, case, kwargs):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if isinstance(case.query, dict):
        for name in SERVER_ISSUED_QUERY & case.query.keys():
            del case.query[name]
    if isinstance(case.headers, dict):
        for name in SERVER_ISSUED_HEADERS & case.headers.keys():
            del case.headers[name]
    fields = SERVER_ISSUED_BODY.get(case.operation.path, set())
    if fields and isinstance(case.body, dict):
        case.body = {k: v for k, v in case.body.items() if k not in fields}
