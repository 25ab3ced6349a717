"""Notifications for the workers' token views (api/identity/token_view.py), PostgreSQL only.

Every revocation, and every user deleted or whose admin flag changes, is
announced on the `stores_api_tokens` channel when its transaction commits,
whoever made it: a worker, the command line, or an operator's SQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FUNCTIONS = {
    "stores_api_notify_revoked": """
        BEGIN
            PERFORM pg_notify('stores_api_tokens', 'revoked ' || NEW.jti || ' '
                              || extract(epoch FROM NEW.expires_at)::text);
            RETURN NULL;
        END""",
    "stores_api_notify_user": """
        BEGIN
            PERFORM pg_notify('stores_api_tokens', 'user ' || OLD.id::text);
            RETURN NULL;
        END""",
}
TRIGGERS = {
    "revoked_tokens_notify": ("AFTER INSERT ON revoked_tokens", "stores_api_notify_revoked"),
    "users_notify": ("AFTER UPDATE OF is_admin OR DELETE ON users", "stores_api_notify_user"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: no view, every token check asks the database
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
    for name, (when, function) in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (when, _) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER {name} ON {when.rsplit(' ', 1)[1]}")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
