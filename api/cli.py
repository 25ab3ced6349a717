"""The `stores-api` command: serve, migrate, make admins and manage accounts, check the spec."""

import argparse
import sys

import yaml

from api.process.account_commands import (
    create_admin,
    users_demote,
    users_list,
    users_promote,
    users_revoke_sessions,
    users_set_password,
)
from api.runtime.config import Settings


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.run(args) or 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="stores-api", description=__doc__)
    commands = root.add_subparsers(required=True, metavar="COMMAND")

    serve_cmd = commands.add_parser("serve", help="upgrade the database, then serve the API")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--reload", action="store_true", help="restart on code changes")
    serve_cmd.add_argument(
        "--workers", type=int, default=0, metavar="N",
        help="run N worker processes under gunicorn (production); default: one uvicorn process",
    )
    serve_cmd.set_defaults(run=serve)

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

    admin = commands.add_parser("create-admin", help="create an admin account")
    admin.add_argument("username")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    admin.set_defaults(run=create_admin)

    users_cmd = commands.add_parser("users", help="manage accounts as an admin would")
    users_commands = users_cmd.add_subparsers(required=True, metavar="ACTION")
    users_commands.add_parser(
        "list", help="every account: id, username, admin or not"
    ).set_defaults(run=users_list)
    promote = users_commands.add_parser("promote", help="make an account an admin")
    promote.add_argument("username")
    promote.set_defaults(run=users_promote)
    demote = users_commands.add_parser(
        "demote", help="take the admin role from an account (never from the last admin)")
    demote.add_argument("username")
    demote.set_defaults(run=users_demote)
    set_password = users_commands.add_parser("set-password", help="replace an account's password")
    set_password.add_argument("username")
    set_password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    set_password.set_defaults(run=users_set_password)
    revoke = users_commands.add_parser(
        "revoke-sessions", help="end every login of an account, on every worker and host")
    revoke.add_argument("username")
    revoke.set_defaults(run=users_revoke_sessions)

    commands.add_parser(
        "prune", help="delete expired token revocations and idempotency keys"
    ).set_defaults(run=prune)

    openapi_cmd = commands.add_parser("openapi", help="the OpenAPI document")
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
    return root


def serve(args) -> int:
    from api import server
    from api.process import migrate
    from api.process.startup import settings_for_serving

    try:
        settings = settings_for_serving()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server.serve_with(settings)  # read once: the app of this process, and of every worker
    # Once, here, before any worker exists: workers never race to migrate.
    migrate.upgrade(settings.database_url)
    # Before gunicorn forks, so that every worker's protocol has it.
    from api.serving.bounded_head import BoundedHeadProtocol

    BoundedHeadProtocol.head_timeout = settings.request_head_timeout_seconds
    if args.workers:
        if args.reload:
            print("error: --reload is for one process; leave out --workers", file=sys.stderr)
            return 2
        if settings.metrics_enabled:
            # Before the fork: each worker counts into the files a scrape sums.
            from api.process.metrics import share_between_workers

            share_between_workers(settings.metrics_dir)
        server.GunicornServer(args.host, args.port, args.workers, settings.trusted_proxies,
                              metrics_shared=settings.metrics_enabled).run()
        return 0

    import uvicorn

    options = dict(
        host=args.host,
        port=args.port,
        access_log=False,  # the service writes its own, structured access log
        log_config=None,  # logging is set up once, above: uvicorn's would close its handlers
        **server.uvicorn_options(settings.trusted_proxies),
    )
    if args.reload:  # development: no draining
        uvicorn.run("api.server:app_for_serving", factory=True, reload=True, **options)
        return 0
    config = uvicorn.Config("api.server:app_for_serving", factory=True, **options)
    server.DrainingServer(config, settings.shutdown_delay_seconds).run()


def db_upgrade(args) -> None:
    from api.process import migrate

    migrate.upgrade(Settings.from_env().database_url, args.revision)


def db_downgrade(args) -> None:
    from api.process import migrate

    migrate.downgrade(Settings.from_env().database_url, args.revision)


def db_current(args) -> None:
    from api.process import migrate

    migrate.current(Settings.from_env().database_url)


def prune(args) -> None:
    from api.process.pruning import prune as prune_expired
    from models import Database

    database = Database(Settings.from_env().database_url, pool_size=1)
    try:
        deleted = prune_expired(database)
    finally:
        database.dispose()
    print("pruned " + ", ".join(f"{n} expired {table}" for table, n in deleted.items()))


def openapi_check(args) -> int:
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


def openapi_scaffold(args) -> int:
    from pathlib import Path

    import api
    from api.contract import scaffold
    from openapi import SPEC_PATH

    try:
        stubs = scaffold.missing_handlers(yaml.safe_load(SPEC_PATH.read_text()))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    written = scaffold.write(stubs, root=Path(api.__file__).resolve().parent.parent)
    for stub, path in zip(stubs, written, strict=True):
        print(f"{stub.operation_id}: stub {stub.module}.{stub.function} in {path}")
    if not stubs:
        print("every operation has its handler")
    return 0


def openapi_diff(args) -> int:
    from collections import Counter
    from pathlib import Path

    from api.contract.compatibility import (
        DiffUnavailable,
        breaking_changes,
        changes,
        latest_release,
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
    for change in breaking_changes(found):
        print(f"breaking: {change['path']}: {change['description']}")
    unannounced = unreleased_breaks(base, found=found)
    if unannounced:
        print(f"error: {len(unannounced)} breaking changes need a new major version in "
              "info.version (and a CHANGELOG.md entry)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
