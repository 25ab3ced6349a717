"""The Swagger UI's router, asked only about its own paths.

Connexion hands every request to the Swagger UI's router, a Starlette router
with a mount per API, to find that nearly none is for it.
`SwaggerUIOnItsPaths` asks that router only about paths that can lead to
the UI.
"""

from connexion.middleware.swagger_ui import SwaggerUIMiddleware


class SwaggerUIOnItsPaths(SwaggerUIMiddleware):
    def __init__(self, app) -> None:
        super().__init__(app)
        self._ui_paths: list[str] = []
        self._base_paths: list[str] = []

    def add_api(self, *args, **kwargs) -> None:
        super().add_api(*args, **kwargs)
        mount = self.router.routes[-1]  # the API's, at its base path
        # The base path itself: Starlette redirects it to the base path and a slash.
        self._base_paths.append(mount.path)
        self._ui_paths = sorted({*self._ui_paths,
                                 *(mount.path + route.path.rstrip("/") for route in mount.routes)})

    async def __call__(self, scope, receive, send) -> None:
        # Substrings, not prefixes: behind a proxy's root path the path starts with it.
        path = scope.get("path", "")
        if scope["type"] == "http" and not any(ui in path for ui in self._ui_paths) \
                and not path.rstrip("/").endswith(tuple(self._base_paths)):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
