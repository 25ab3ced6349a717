"""The account commands of `stores-api` (`create-admin`, `users ...`): what
an admin does through the API, done from the host's shell, with the API's
own checks (the spec's schemas for usernames and passwords, never the last
admin demoted) and its effects on every worker and host (ended sessions
reach every token view)."""

import getpass
import sys
from contextlib import contextmanager

from api.runtime.config import Settings


@contextmanager
def database_of(settings: Settings):
    """The database, through one connection, disposed of however the command ends."""
    from models import Database

    database = Database(settings.database_url, pool_size=1)
    try:
        yield database
    finally:
        database.dispose()


def create_admin(args, settings: Settings) -> int:
    from api.identity.accounts import new_user, user_named
    from api.identity.passwords import PasswordHasher

    password = read_password(args)
    if password is None:
        return 1
    problems = credential_problems(username=args.username, password=password)
    if problems:
        print(f"error: {problems}", file=sys.stderr)
        return 1

    with database_of(settings) as database, database.session() as session:
        if user_named(session, args.username) is not None:
            print(f"error: the username {args.username!r} is taken", file=sys.stderr)
            return 1
        user = new_user(args.username, PasswordHasher.from_settings(settings).hash(password),
                        is_admin=True)
        session.add(user)
        session.commit()
        print(f"created admin {user.username!r} with id {user.id}")
    return 0


def read_password(args) -> str | None:
    """One line of standard input with --password-stdin, else asked twice;
    None (and a message) when the two answers differ."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != password:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return password


def credential_problems(**credentials: str) -> str | None:
    """Check a username, a password or both against the spec's own schemas
    (Username, Password), as the API checks them."""
    from jsonschema import Draft4Validator

    from openapi import load_spec

    spec = load_spec()
    schemas = spec["components"]["schemas"]
    schema = {
        "type": "object",
        "properties": {name: schemas[name.capitalize()] for name in credentials},
    }
    errors = sorted(Draft4Validator(schema).iter_errors(credentials), key=str)
    return "; ".join(map(_problem, errors)) or None


def _problem(error) -> str:
    field = "/".join(map(str, error.path))
    if error.schema.get("format") == "password":
        # jsonschema's message quotes the value, and a password is never printed.
        return f"{field}: {error.validator} is {error.validator_value!r}"
    return f"{field}: {error.message}"


def users_list(args, settings: Settings) -> None:
    from sqlalchemy import select

    from models import User

    with database_of(settings) as database, database.read_session() as session:
        print("id\tusername\tadmin")
        for user_id, username, is_admin in session.execute(
                select(User.id, User.username, User.is_admin).order_by(User.id)):
            print(f"{user_id}\t{username}\t{'yes' if is_admin else 'no'}")


def users_promote(args, settings: Settings) -> int:
    return _change_user(settings, args.username, _make_admin)


def users_demote(args, settings: Settings) -> int:
    return _change_user(settings, args.username, _unmake_admin)


def users_set_password(args, settings: Settings) -> int:
    from api.identity.passwords import PasswordHasher

    password = read_password(args)
    if password is None:
        return 1
    problems = credential_problems(password=password)
    if problems:
        print(f"error: {problems}", file=sys.stderr)
        return 1
    password_hash = PasswordHasher.from_settings(settings).hash(password)

    def replace_password(session, user) -> str:
        from api.identity.tokens import end_sessions

        user.password_hash = password_hash
        # A password replaced by an operator is one thought known to others:
        # whoever signed in with it is signed out.
        end_sessions(session, user)
        return f"password of {user.username!r} replaced; every login of it ended"

    return _change_user(settings, args.username, replace_password)


def users_revoke_sessions(args, settings: Settings) -> int:
    def end_every_login(session, user) -> str:
        from api.identity.tokens import end_sessions

        end_sessions(session, user)
        return f"every login of {user.username!r} ended"

    return _change_user(settings, args.username, end_every_login)


def _make_admin(session, user) -> str:
    from api.identity.accounts import set_admin

    if user.is_admin:
        return f"{user.username!r} is an admin already"
    set_admin(session, user, True)
    return f"{user.username!r} is an admin"


def _unmake_admin(session, user) -> str:
    from api.identity.accounts import is_last_admin, set_admin

    if not user.is_admin:
        return f"{user.username!r} is not an admin"
    if is_last_admin(session, user):
        raise _Refused(f"{user.username!r} is the last admin: make another admin first")
    set_admin(session, user, False)
    return f"{user.username!r} is no longer an admin"


class _Refused(Exception):
    """A change the API would refuse too; its message is for the operator."""


def _change_user(settings: Settings, username: str, change) -> int:
    """Lock the user's row, apply `change(session, user)` and commit; print
    what it answers. Unknown user or a refused change: a message, status 1."""
    from api.identity.accounts import user_named

    with database_of(settings) as database, database.session() as session:
        user = user_named(session, username, lock=True)
        if user is None:
            print(f"error: no user named {username!r}", file=sys.stderr)
            return 1
        try:
            done = change(session, user)
        except _Refused as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        session.commit()
    print(done)
    return 0
