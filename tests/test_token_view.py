"""The token view's rules, without a database: when it may answer, and what
it learns from notifications and from this worker's own commits."""

from api.identity.token_view import USERS_KEPT, TokenView


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def claims(jti="j1", sid="s1", sub="7"):
    return {"jti": jti, "sid": sid, "sub": sub}


def test_a_view_is_trusted_only_for_the_bound_after_the_last_beat_was_sent():
    clock = Clock()
    view = TokenView(bound=1.0, clock=clock)
    assert not view.is_current()
    view.confirm(beat_sent_at=100.0)
    clock.now = 100.99
    assert view.is_current()
    clock.now = 101.0
    assert not view.is_current()


def test_a_late_beat_never_shortens_the_trust_and_distrust_ends_it():
    clock = Clock()
    view = TokenView(bound=1.0, clock=clock)
    view.confirm(100.5)
    view.confirm(100.0)  # an older beat arriving late
    clock.now = 101.2
    assert view.is_current()
    view.distrust()
    assert not view.is_current()


def test_revocations_of_a_token_or_its_chain_come_from_notifications():
    view = TokenView(bound=1.0)
    view.apply("revoked j1 2000000000.5")
    view.apply("revoked s2 2000000000")
    assert view.is_revoked(claims(jti="j1"))
    assert view.is_revoked(claims(jti="other", sid="s2"))
    assert not view.is_revoked(claims(jti="j3", sid="s3"))


def test_expired_revocations_are_dropped():
    view = TokenView(bound=1.0)
    view.apply("revoked old 1000")
    view.apply("revoked new 3000")
    view.drop_expired(now=2000)
    assert set(view.revoked) == {"new"}


def test_a_user_change_forgets_the_user():
    view = TokenView(bound=1.0)
    view.remember_user(7, (True, 0), view.user_changes())
    assert view.admins == {7: (True, 0)}
    view.apply("user 7")
    assert view.admins == {}


def test_what_the_database_said_is_not_kept_when_a_user_changed_meanwhile():
    view = TokenView(bound=1.0)
    before = view.user_changes()
    view.apply("user 9")  # arrives while user 7 is being looked up
    view.remember_user(7, (False, 0), before)
    assert view.admins == {}


def test_payloads_that_are_not_ours_change_nothing():
    view = TokenView(bound=1.0)
    view.apply("hello")
    view.apply("")
    assert view.revoked == {} and view.admins == {}


def test_this_workers_commits_apply_at_once():
    view = TokenView(bound=1.0)
    view.remember_user(5, (True, 0), view.user_changes())
    view.apply_committed({"revoked": {"j9": 2e9}, "users": {5}})
    assert view.is_revoked(claims(jti="j9"))
    assert 5 not in view.admins


def test_a_new_snapshot_replaces_revocations_and_forgets_users():
    view = TokenView(bound=1.0)
    view.apply("revoked gone 2000000000")
    view.remember_user(1, (False, 0), view.user_changes())
    view.replace({"kept": 2e9})
    assert set(view.revoked) == {"kept"} and view.admins == {}


def test_the_users_remembered_are_bounded():
    view = TokenView(bound=1.0)
    for user_id in range(USERS_KEPT + 1):
        view.remember_user(user_id, (False, 0), view.user_changes())
    assert len(view.admins) <= USERS_KEPT
