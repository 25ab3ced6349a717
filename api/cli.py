"""The `stores-api` command: serve, migrate, make admins and manage accounts, check the spec."""

import argparse
import sys

from api.process.account_commands import (
    create_admin,
    users_demote,
    users_list,
    users_promote,
    users_revoke_sessions,
    users_set_password,
)
from api.runtime.config import Settings, SettingsError


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    settings = None
    if args.reads_settings:  # once, here: every command gets them from this one read
        try:
            settings = Settings()
        except SettingsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return args.run(args, settings) or 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="stores-api", description=__doc__)
    root.set_defaults(reads_settings=True)
    commands = root.add_subparsers(required=True, metavar="COMMAND")
    _serve_command(commands)
    _db_commands(commands)
    _account_commands(commands)
    commands.add_parser(
        "prune", help="delete expired token revocations and idempotency keys"
    ).set_defaults(run=prune)
    _openapi_commands(commands)
    return root


def _serve_command(commands) -> None:
    serve_cmd = commands.add_parser("serve", help="upgrade the database, then serve the API")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--reload", action="store_true", help="restart on code changes")
    serve_cmd.add_argument(
        "--workers", type=int, default=0, metavar="N",
        help="run N worker processes under gunicorn (production); default: one uvicorn process",
    )
    serve_cmd.set_defaults(run=serve)


def _db_commands(commands) -> None:
    db_cmd = commands.add_parser("db", help="database migrations (Alembic)")
    db_commands = db_cmd.add_subparsers(required=True, metavar="ACTION")
    up = db_commands.add_parser("upgrade", help="upgrade to a revision (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(run=db_upgrade)
    down = db_commands.add_parser("downgrade", help="downgrade to a revision (base: empty)")
    down.add_argument("revision")
    down.set_defaults(run=db_downgrade)
    db_commands.add_parser("current", help="show the current revision").set_defaults(
        run=db_current
    )


def _account_commands(commands) -> None:
    admin = commands.add_parser("create-admin", help="create an admin account")
    admin.add_argument("username")
    _password_stdin(admin)
    admin.set_defaults(run=create_admin)

    users_cmd = commands.add_parser("users", help="manage accounts as an admin would")
    users_commands = users_cmd.add_subparsers(required=True, metavar="ACTION")
    users_commands.add_parser(
        "list", help="every account: id, username, admin or not"
    ).set_defaults(run=users_list)
    for name, run, text in [
        ("promote", users_promote, "make an account an admin"),
        ("demote", users_demote,
         "take the admin role from an account (never from the last admin)"),
        ("set-password", users_set_password, "replace an account's password"),
        ("revoke-sessions", users_revoke_sessions,
         "end every login of an account, on every worker and host"),
    ]:
        command = users_commands.add_parser(name, help=text)
        command.add_argument("username")
        if run is users_set_password:
            _password_stdin(command)
        command.set_defaults(run=run)


def _password_stdin(command) -> None:
    command.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )


def _openapi_commands(commands) -> None:
    openapi_cmd = commands.add_parser("openapi", help="the OpenAPI document")
    openapi_cmd.set_defaults(reads_settings=False)  # the spec alone
    openapi_commands = openapi_cmd.add_subparsers(required=True, metavar="ACTION")
    openapi_commands.add_parser(
        "check", help="validate the spec and match its operationIds with the handlers"
    ).set_defaults(run=openapi_check)
    openapi_commands.add_parser(
        "scaffold", help="write a 501 stub for every operation of the spec without a handler"
    ).set_defaults(run=openapi_scaffold)
    diff = openapi_commands.add_parser(
        "diff", help="classify every change since a released contract; fail on an "
                     "unannounced breaking one")
    diff.add_argument("base", nargs="?", help="a released contract (default: the newest in "
                                              "openapi/released/)")
    diff.set_defaults(run=openapi_diff)


def serve(args, settings: Settings) -> int:
    from api import server
    from api.process import migrate
    from api.process.startup import settings_for_serving

    if args.workers and args.reload:
        print("error: --reload is for one process; leave out --workers", file=sys.stderr)
        return 2
    try:
        settings_for_serving(settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Once, here, before any worker exists: workers never race to migrate.
    migrate.upgrade(settings.database_url)
    if args.workers:
        server.serve_with_gunicorn(settings, args.host, args.port, args.workers)
    else:
        server.serve_with_uvicorn(settings, args.host, args.port, args.reload)
    return 0


def db_upgrade(args, settings: Settings) -> None:
    from api.process import migrate

    migrate.upgrade(settings.database_url, args.revision)


def db_downgrade(args, settings: Settings) -> None:
    from api.process import migrate

    migrate.downgrade(settings.database_url, args.revision)


def db_current(args, settings: Settings) -> None:
    from api.process import migrate

    migrate.current(settings.database_url)


def prune(args, settings: Settings) -> None:
    from api.process.account_commands import database_of
    from api.process.pruning import prune as prune_expired

    with database_of(settings) as database:
        deleted = prune_expired(database)
    print("pruned " + ", ".join(f"{n} expired {table}" for table, n in deleted.items()))


def openapi_check(args, _settings=None) -> int:
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    from api.contract.spec_checks import operation_ids, spec_problems
    from openapi import SPEC_PATH

    spec, _ = read_from_filename(str(SPEC_PATH))
    validate(spec)
    failures = spec_problems(spec)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"{SPEC_PATH.name}: valid, {len(operation_ids(spec))} operations, all resolved")
    return 0


def openapi_scaffold(args, _settings=None) -> int:
    from pathlib import Path

    import api
    from api.contract import scaffold
    from openapi import load_spec

    try:
        stubs = scaffold.missing_handlers(load_spec())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    written = scaffold.write(stubs, root=Path(api.__file__).resolve().parent.parent)
    for stub, path in zip(stubs, written, strict=True):
        print(f"{stub.operation_id}: stub {stub.module}.{stub.function} in {path}")
    if not stubs:
        print("every operation has its handler")
    return 0


def openapi_diff(args, _settings=None) -> int:
    from collections import Counter
    from pathlib import Path

    from api.contract.compatibility import (
        DiffUnavailable,
        breaking_changes,
        changes,
        latest_release,
        major,
        unmatched_acceptances,
        unreleased_breaks,
    )
    from openapi import SPEC_PATH

    try:
        base = Path(args.base) if args.base else latest_release()
        found = changes(base)
    except DiffUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = Counter(change["type"] for change in found)
    print(f"{base.name} -> {SPEC_PATH.name}: " + (
        ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "no change"))
    unannounced = unreleased_breaks(base, found=found)
    accepted = major(SPEC_PATH) == major(base)  # where a break is not unannounced
    for change in breaking_changes(found):
        kind = "breaking, accepted" if accepted and change not in unannounced else "breaking"
        print(f"{kind}: {change['path']}: {change['description']}")
    # Acceptances are written against the newest release, the default base.
    stale = [] if args.base else unmatched_acceptances(found, base)
    for entry in stale:
        print(f"error: openapi/accepted-breaks.yaml accepts a break no change makes: "
              f"{entry['description']}", file=sys.stderr)
    if stale:
        return 1
    if unannounced:
        print(f"error: {len(unannounced)} breaking changes need a new major version in "
              "info.version (and a CHANGELOG.md entry)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
