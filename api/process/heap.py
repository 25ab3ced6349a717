"""The heap of a serving process, settled once its app is built.

CPython's cyclic garbage collector walks every object of the generations it
collects. A worker's app is a large, long-lived graph (the spec, Connexion's
operations and validators, SQLAlchemy's mappers: over 100,000 objects), so
a full collection under load paused the worker for 75-146 ms, every request
it held included, and the young collections, triggered every 700 net new
objects, ran about once per two requests (docs/performance.md).

`settle_heap` collects once, then freezes what survives: the start-up graph
moves to the permanent generation, which no later collection walks. Objects
that die later are still freed by reference counting; only a cycle among
them would outlive its use, and the start-up graph lives as long as the
process. The young generation's threshold becomes 2,000, CPython 3.14's
default, so that one request's transient objects seldom trigger a collection.
"""

import gc

# Net new container objects before a young collection: CPython 3.14's default.
YOUNG_GENERATION_THRESHOLD = 2000


def settle_heap() -> None:
    """Freeze what the process has built so far; call once, once it is built."""
    gc.collect()  # garbage of start-up is freed, not frozen for good
    gc.freeze()
    _young, *older = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *older)
