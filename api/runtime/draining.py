"""Whether this process is stopping: set by its SIGTERM handler
(api/server.py), read by `/readyz` (api/process/probes.py). A process has one
signal handler, so the state is the process's, not an app's."""

import time


class Draining:
    def __init__(self) -> None:
        self.since: float | None = None

    def begin(self) -> None:
        if self.since is None:
            self.since = time.monotonic()

    @property
    def underway(self) -> bool:
        return self.since is not None


DRAINING = Draining()
