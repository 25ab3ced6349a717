"""ReDoc, a second docs page for the same spec, at /api/v1/docs.

Its bundle is a committed, versioned file with its licence (api/static/redoc/),
served by this service: the page works offline and loads nothing from a CDN.
ReDoc styles itself with inline <style> elements and searches in a worker made
from a blob, so its page allows exactly those and nothing else from outside.
ReDoc 3 reports usage to Redocly unless told not to: its telemetry is off
(`disable-telemetry`), and the policy would refuse it anyway, as it refuses
the badge logo ReDoc asks a CDN for (the badge then hides itself).
"""

from importlib import resources

from starlette.responses import HTMLResponse, Response

REDOC_VERSION = "3.0.1"
ASSETS = resources.files("api") / "static" / "redoc"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Relative URLs: the page is <base>/docs, the spec <base>/openapi.json.
PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Stores API reference</title>
</head>
<body>
  <redoc spec-url="openapi.json" disable-telemetry="true"></redoc>
  <script type="module" src="docs/redoc.standalone.js?v={REDOC_VERSION}"></script>
</body>
</html>
"""


class ReferenceDocs:
    def __init__(self):
        self.bundle = ASSETS.joinpath("redoc.standalone.js").read_bytes()

    def page(self, _request) -> Response:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": POLICY})

    def script(self, _request) -> Response:
        return Response(self.bundle, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
