"""Users' session generation: `stores-api users revoke-sessions` (and
`set-password`) ends every login of a user at once by counting it up.

Each token carries the generation it was issued in (`gen`); the token check
refuses one whose generation is not the user's. On PostgreSQL the users
trigger also fires on the new column, so every worker's token view forgets
the user and asks again (api/identity/token_view.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE in place on SQLite too: a batch would copy the table and
    # lose its expression index (lower(username)), which SQLite cannot reflect.
    op.add_column("users", sa.Column("session_generation", sa.Integer(), nullable=False,
                                     server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER users_notify ON users")
        op.execute("CREATE TRIGGER users_notify AFTER UPDATE OF is_admin, session_generation "
                   "OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION stores_api_notify_user()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER users_notify ON users")
        op.execute("CREATE TRIGGER users_notify AFTER UPDATE OF is_admin OR DELETE ON users "
                   "FOR EACH ROW EXECUTE FUNCTION stores_api_notify_user()")
    op.drop_column("users", "session_generation")  # SQLite 3.35 and later drop in place
