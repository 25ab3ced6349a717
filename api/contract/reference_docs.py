"""Two more docs pages for the same spec, beside Swagger UI (/api/v1/ui/):
ReDoc at /api/v1/docs and RapiDoc at /api/v1/rapidoc. Each page links to the
other two through the spec's own description.

Each bundle is a committed, versioned file with its licence (api/static/),
served by this service: the pages work offline and load nothing from a CDN.
Both style themselves with inline styles, so their pages allow those and
nothing else from outside; ReDoc also searches in a worker made from a blob.
ReDoc 3 reports usage to Redocly unless told not to: its telemetry is off
(`disable-telemetry`), and the policy would refuse it anyway, as it refuses
the badge logo ReDoc asks a CDN for (the badge then hides itself). RapiDoc
asks Google for its fonts unless told not to (`load-fonts="false"`), and
offers to load another spec than this one unless told not to.
"""

from dataclasses import dataclass
from importlib import resources

from starlette.responses import HTMLResponse, Response

STATIC = resources.files("api") / "static"
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class DocsPage:
    """A page at <base>/<path> that runs <base>/<path>/<bundle>: relative
    URLs, so that the page reads <base>/openapi.json wherever it is served."""

    path: str
    folder: str  # in api/static/
    bundle: str
    version: str
    element: str  # what the bundle renders, reading openapi.json

    def html(self) -> str:
        return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Stores API reference</title>
</head>
<body>
  {self.element}
  <script type="module" src="{self.path}/{self.bundle}?v={self.version}"></script>
</body>
</html>
"""


REDOC = DocsPage("docs", "redoc", "redoc.standalone.js", "3.0.1",
                 '<redoc spec-url="openapi.json" disable-telemetry="true"></redoc>')
RAPIDOC = DocsPage(
    "rapidoc", "rapidoc", "rapidoc-min.js", "9.3.8",
    '<rapi-doc spec-url="openapi.json" load-fonts="false" render-style="read" '
    'show-header="false" allow-spec-url-load="false" allow-spec-file-load="false" '
    'allow-server-selection="false" schema-description-expanded="true"></rapi-doc>')
PAGES = (REDOC, RAPIDOC)


class ReferenceDocs:
    """A docs page and its bundle, read once."""

    def __init__(self, docs: DocsPage):
        self.docs = docs
        self.bundle = STATIC.joinpath(docs.folder, docs.bundle).read_bytes()

    def page(self, _request) -> Response:
        return HTMLResponse(self.docs.html(), headers={"Content-Security-Policy": POLICY})

    def script(self, _request) -> Response:
        return Response(self.bundle, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
