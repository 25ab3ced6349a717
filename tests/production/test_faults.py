"""Faults under load (issue 31): while clients create items with
Idempotency-Keys, PUT one shared item with If-Match, link and unlink tags and
refresh their tokens, two workers are SIGKILLed, and then the whole server
is killed and started again. Each client sends again what got no answer, as
the spec's "Retrying creates" tells it to.

Afterwards the database holds exactly what the clients were told, and every
request that was sent again got its final answer within RETRIED_WITHIN
seconds of its first try. Bounded: CLIENTS × ROUNDS rounds, RUN_SECONDS.
"""

import http.client
import os
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import jwt
from sqlalchemy import create_engine, select

from models import IdempotencyKey, Item, RevokedToken, item_tags
from tests.http import Reply, call, register_and_login
from tests.live_server import crash, start_server, stop, worker_pids

CLIENTS = 8
ROUNDS = 30
RUN_SECONDS = 150
# The goal of issue 31: after a crash, a retried request's final answer
# comes within 10 s of its first try.
RETRIED_WITHIN = 10
GIVE_UP_SECONDS = 30
# When each fault strikes: once this share of all rounds is done.
FAULTS = [(0.15, "kill a worker"), (0.35, "kill a worker"), (0.6, "crash and restart")]
NOT_YET = (502, 503, 504)  # answered, but nothing was done: send it again


@dataclass
class Outcome:
    """A request sent until it got its final answer (or GIVE_UP_SECONDS passed)."""

    reply: Reply | None
    statuses: list[int]
    lost: int  # tries that got no answer at all (reset, refused, cut short)
    waited: float  # from the first try to the final answer


def until_answered(send, again=lambda reply: False) -> Outcome:
    started, statuses, lost, pause = time.monotonic(), [], 0, 0.05
    while time.monotonic() - started < GIVE_UP_SECONDS:
        try:
            reply = send()
        except (OSError, http.client.HTTPException):
            lost += 1
        else:
            statuses.append(reply.status)
            if reply.status not in NOT_YET and not again(reply):
                return Outcome(reply, statuses, lost, time.monotonic() - started)
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
    return Outcome(None, statuses, lost, time.monotonic() - started)


def still_in_progress(reply: Reply) -> bool:
    return reply.status == 409 and "still in progress" in reply.json()["detail"]


@dataclass
class Workload:
    api: str
    store_id: int
    shared_item: int
    rounds_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_at: float = field(default_factory=lambda: time.monotonic() + RUN_SECONDS)

    def round_done(self) -> None:
        with self.lock:
            self.rounds_done += 1

    @property
    def progress(self) -> float:
        return self.rounds_done / (CLIENTS * ROUNDS)


class Client(threading.Thread):
    """One device of the user: its own login (a refresh chain), its own item
    and tag to link and unlink, its keys; the shared item it races others on."""

    def __init__(self, number: int, workload: Workload, tokens: dict, item_id: int, tag_id: int):
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.workload = number, workload
        self.access, self.refresh = tokens["access_token"], tokens["refresh_token"]
        self.item_id, self.tag_id = item_id, tag_id
        self.outcomes: list[Outcome] = []
        self.created: dict[str, tuple[str, Outcome]] = {}  # key → (name, outcome)
        self.prices_written: list[Decimal] = []  # each acknowledged by a 200
        self.writes_unknown = 0  # lost, then 412: applied or not, the client cannot tell
        self.linked = False
        self.refresh_tokens = [self.refresh]
        self.refresh_refused = 0
        self.creating = False

    def send(self, method: str, path: str, body=None, token=None, **headers) -> Outcome:
        def once():
            return call(method, f"{self.workload.api}{path}", body, token=token or self.access,
                        headers=headers, timeout=15)
        outcome = until_answered(once, still_in_progress)
        self.outcomes.append(outcome)
        return outcome

    def run(self):
        for round_number in range(ROUNDS):
            if time.monotonic() > self.workload.stop_at:
                return
            self.create_item(round_number)
            self.write_shared_item()
            self.toggle_link()
            if round_number % 3 == 2:
                self.refresh_tokens_once()
            self.workload.round_done()

    def create_item(self, round_number: int) -> None:
        key, name = str(uuid.uuid4()), f"client {self.number} round {round_number}"
        self.creating = True
        outcome = self.send("POST", "/items", {"name": name, "price": "1",
                                               "store_id": self.workload.store_id},
                            **{"Idempotency-Key": key})
        self.creating = False
        self.created[key] = (name, outcome)

    def write_shared_item(self) -> None:
        read = self.send("GET", f"/items/{self.workload.shared_item}")
        if read.reply is None or read.reply.status != 200:
            return
        price = Decimal(read.reply.json()["price"]) + 1
        write = self.send("PUT", f"/items/{self.workload.shared_item}",
                          {"name": "Shared", "price": str(price)},
                          **{"If-Match": read.reply.headers["etag"]})
        if write.reply is not None and write.reply.status == 200:
            self.prices_written.append(price)
        elif write.lost:
            self.writes_unknown += 1

    def toggle_link(self) -> None:
        method = "DELETE" if self.linked else "PUT"
        outcome = self.send(method, f"/items/{self.item_id}/tags/{self.tag_id}")
        status = outcome.reply.status if outcome.reply else None
        # A retried unlink whose first try took the tag off finds nothing left: done too.
        if status == 204 or (method == "DELETE" and status == 404 and outcome.lost):
            self.linked = not self.linked

    def refresh_tokens_once(self) -> None:
        outcome = self.send("POST", "/auth/refresh", token=self.refresh)
        if outcome.reply is not None and outcome.reply.status == 200:
            pair = outcome.reply.json()
            self.access, self.refresh = pair["access_token"], pair["refresh_token"]
            if self.refresh not in self.refresh_tokens:
                self.refresh_tokens.append(self.refresh)
        else:
            self.refresh_refused += 1


class Faults(threading.Thread):
    """SIGKILLs a worker, another, then the whole server, which it starts
    again on the same port, each once the workload has made enough progress."""

    def __init__(self, workload: Workload, clients: list[Client], server, start_again):
        super().__init__(name="faults", daemon=True)
        self.workload, self.clients = workload, clients
        self.server, self.start_again = server, start_again
        self.struck: list[str] = []
        self.downtime = 0.0
        self.error: BaseException | None = None

    def run(self):
        try:
            self.strike()
        except BaseException as error:  # shown by the test, not lost in this thread
            self.error = error

    def strike(self) -> None:
        for share, fault in FAULTS:
            while self.workload.progress < share:
                if time.monotonic() > self.workload.stop_at:
                    return
                time.sleep(0.01)
            self.wait_for_creates_in_flight()
            if fault == "kill a worker":
                self.kill_a_worker()
            else:
                crashed_at = time.monotonic()
                crash(self.server)
                self.server = self.start_again()
                self.downtime = time.monotonic() - crashed_at
            self.struck.append(fault)

    def wait_for_creates_in_flight(self, at_least: int = 2, patience: float = 5) -> None:
        """Strike while keyed creates are on the wire, the case the keys are for."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if sum(client.creating for client in self.clients) >= at_least:
                return
            time.sleep(0.001)

    def kill_a_worker(self) -> None:
        pid = worker_pids(self.server)[0]
        os.kill(pid, signal.SIGKILL)


def test_killed_workers_and_a_crashed_server_lose_nothing_and_repeat_nothing(
        tmp_path, new_database):
    database_url = new_database("faults")
    server = start_server(tmp_path, database_url, workers=2)
    port = int(server.url.rpartition(":")[2])
    faults = None
    try:
        workload, clients = set_up(server.api)
        faults = Faults(workload, clients, server, lambda: start_server(
            tmp_path, database_url, workers=2, port=port))
        faults.start()
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=RUN_SECONDS + GIVE_UP_SECONDS + 30)
        faults.join(timeout=60)
        server = faults.server
        assert faults.error is None, faults.error
        assert faults.struck == [fault for _, fault in FAULTS], "not every fault struck"
        print(f"the server was down {faults.downtime:.1f} s")

        assert_every_request_answered_in_time(clients)
        assert_every_key_replays_its_one_answer(workload, clients)
        assert_every_refresh_chain_lives_on(workload, clients)
        log = server.log()
    finally:
        stop(faults.server if faults else server)

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert_creates_are_there_once(connection, workload, clients)
            assert_no_write_over_a_newer_one(connection, workload, clients)
            assert_links_are_as_last_told(connection, clients)
            assert_one_live_refresh_token_per_chain(connection, clients)
    finally:
        engine.dispose()
    assert "Traceback" not in log


def set_up(api: str) -> tuple[Workload, list[Client]]:
    """One user with CLIENTS logins, a store, the shared item, and an item
    and a tag for each client."""
    first = register_and_login(api, "faulty")
    token = first["access_token"]
    store = call("POST", f"{api}/stores", {"name": "Faults"}, token=token).json()
    shared = call("POST", f"{api}/items", {"name": "Shared", "price": "0", "store_id": store["id"]},
                  token=token).json()
    workload = Workload(api, store["id"], shared["id"])
    clients = []
    for number in range(CLIENTS):
        tokens = first if number == 0 else call(
            "POST", f"{api}/auth/login",
            {"username": "faulty", "password": "long-enough-pw"}).json()
        item = call("POST", f"{api}/items", {"name": f"Own {number}", "price": "1",
                                             "store_id": store["id"]}, token=token).json()
        tag = call("POST", f"{api}/stores/{store['id']}/tags", {"name": f"Tag {number}"},
                   token=token).json()
        clients.append(Client(number, workload, tokens, item["id"], tag["id"]))
    return workload, clients


def assert_every_request_answered_in_time(clients: list[Client]) -> None:
    outcomes = [outcome for client in clients for outcome in client.outcomes]
    statuses = Counter(status for outcome in outcomes for status in outcome.statuses)
    assert all(outcome.reply is not None for outcome in outcomes), statuses
    assert not any(status >= 500 and status not in NOT_YET for status in statuses), statuses
    retried = [outcome for outcome in outcomes if outcome.lost or len(outcome.statuses) > 1]
    assert any(outcome.lost for outcome in retried), "no fault cut a request short"
    creates_cut = [outcome for client in clients for _, outcome in client.created.values()
                   if outcome.lost]
    assert creates_cut, "no fault cut a keyed create short"
    slowest = max(outcome.waited for outcome in retried)
    assert slowest <= RETRIED_WITHIN, f"a retried request waited {slowest:.1f} s"
    print(f"{len(outcomes)} requests, {len(retried)} sent again ({len(creates_cut)} keyed "
          f"creates cut short), slowest final answer after {slowest:.1f} s; "
          f"statuses {dict(statuses)}")


def assert_every_key_replays_its_one_answer(workload: Workload, clients: list[Client]) -> None:
    """Each create got 201, and the same key sent once more gets that very answer."""
    for client in clients:
        for key, (name, outcome) in client.created.items():
            assert outcome.reply.status == 201, (name, outcome.statuses, outcome.reply.body)
            again = call("POST", f"{workload.api}/items", {"name": name, "price": "1",
                                                      "store_id": workload.store_id},
                         token=client.access, headers={"Idempotency-Key": key})
            assert again.status == 201, again.body
            assert again.json()["id"] == outcome.reply.json()["id"]
            assert again.headers["location"] == outcome.reply.headers["location"]


def assert_every_refresh_chain_lives_on(workload: Workload, clients: list[Client]) -> None:
    """No retried refresh ended its chain: each client's last refresh token still works."""
    for client in clients:
        assert client.refresh_refused == 0
        reply = call("POST", f"{workload.api}/auth/refresh", token=client.refresh)
        assert reply.status == 200, reply.body
        client.refresh = reply.json()["refresh_token"]
        client.refresh_tokens.append(client.refresh)


def assert_creates_are_there_once(connection, workload: Workload, clients: list[Client]) -> None:
    items = dict(connection.execute(
        select(Item.name, Item.id).where(Item.store_id == workload.store_id)).all())
    keys = {key: (status, body) for key, status, body in connection.execute(
        select(IdempotencyKey.key, IdempotencyKey.status, IdempotencyKey.body))}
    created = [(key, name, outcome.reply.json()["id"])
               for client in clients for key, (name, outcome) in client.created.items()]
    for key, name, item_id in created:
        assert items.get(name) == item_id, f"{name}: told {item_id}, holds {items.get(name)}"
        status, body = keys[key]
        assert status == 201 and f'"id":{item_id},'.encode() in body.replace(b" ", b"")
    # What else the store holds: the shared item and one per client, no more.
    assert len(items) == len(created) + 1 + len(clients)
    assert len(keys) == len(created)


def assert_no_write_over_a_newer_one(connection, workload: Workload, clients: list[Client]) -> None:
    """Every write of the shared item read price p and wrote p + 1 under
    If-Match: so no two acknowledged writes wrote the same price, and the
    price counts the writes applied."""
    written = [price for client in clients for price in client.prices_written]
    unknown = sum(client.writes_unknown for client in clients)
    assert len(written) == len(set(written)), "two writes acknowledged over one version"
    price = connection.execute(select(Item.price).where(Item.id == workload.shared_item)).scalar()
    assert max(written) <= price <= len(written) + unknown


def assert_links_are_as_last_told(connection, clients: list[Client]) -> None:
    linked = set(connection.execute(select(item_tags.c.item_id, item_tags.c.tag_id)).all())
    for client in clients:
        assert ((client.item_id, client.tag_id) in linked) == client.linked, client.name


def assert_one_live_refresh_token_per_chain(connection, clients: list[Client]) -> None:
    revoked = set(connection.execute(select(RevokedToken.jti)).scalars())
    for client in clients:
        claims = [jwt.decode(token, options={"verify_signature": False})
                  for token in client.refresh_tokens]
        (chain,) = {claim["sid"] for claim in claims}
        assert chain not in revoked
        live = [claim["jti"] for claim in claims if claim["jti"] not in revoked]
        assert live == [claims[-1]["jti"]], client.name

