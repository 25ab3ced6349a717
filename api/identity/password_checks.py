"""Password checks (and a registration's hash) on threads of their own, so
that logins cannot take the handler threads that every other request needs.

One argon2id check costs about 0.1 s of CPU and 64 MiB. With the handler
threads doing them, 8 logins at once held every thread of a worker: another
caller's reads went from a 2.5 ms median to 720 ms. Here a worker checks at
most PASSWORD_HASH_THREADS passwords at once, on threads that do nothing
else, and lets at most PASSWORD_HASH_WAITING more logins wait for one (on
the event loop, holding no thread). Past that, a login is answered 503 with
`Retry-After` at once: the worker is busy checking other passwords. The
password threads run niced (PASSWORD_CHECK_NICENESS), so that when reads
and checks both want the machine's cores, the reads get them first.
"""

from api.contract.problems import api_problem
from api.identity.passwords import PasswordHasher
from api.runtime.handler_threads import HandlerThreads

RETRY_AFTER_SECONDS = 1
# Added to the password threads' niceness: a check may wait for reads.
PASSWORD_CHECK_NICENESS = 10


class PasswordChecks:
    def __init__(self, hasher: PasswordHasher, threads: HandlerThreads, waiting: int) -> None:
        self.hasher = hasher
        self.threads = threads
        self.bound = threads.count + waiting
        self._in_flight = 0  # counted on the event loop: one thread, no lock

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """PasswordHasher.verify, on these threads; 503 when too many wait."""
        return await self._run(self.hasher.verify, password, password_hash)

    async def hash(self, password: str) -> str:
        """PasswordHasher.hash (a registration's), on these threads alike."""
        return await self._run(self.hasher.hash, password)

    async def _run(self, function, *args):
        if self._in_flight >= self.bound:
            raise api_problem(503, "the server is busy checking other passwords; retry shortly",
                              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        self._in_flight += 1
        try:
            return await self.threads.run(function, *args)
        finally:
            self._in_flight -= 1

    def shutdown(self) -> None:
        self.threads.shutdown()
