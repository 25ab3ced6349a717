"""Revocations say what they revoke, and the token views hear only of what
an access check can ask about.

A refresh revokes the refresh token it uses up, with that token's 30-day
expiry; the trigger of 0006 sent every such id to every worker, whose token
view kept it for 30 days though no access check ever asks about it (refresh
tokens are checked in the database). Now each row has its `kind`: `access`
(a logout's access token), `refresh` (used up by a rotation or handed back at
a logout) or `chain` (every token of a login, revoked when a used refresh
token comes back). The trigger announces all but `refresh`, and the views
load them through an index of their own. Rows revoked before this migration
have no kind (NULL) and are announced as before; they count as refreshes when
they were rotations.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEEN_BY_ACCESS_CHECKS = "kind IS DISTINCT FROM 'refresh'"
NOTIFY_UNLESS_REFRESH = """
    BEGIN
        IF NEW.kind IS DISTINCT FROM 'refresh' THEN
            PERFORM pg_notify('stores_api_tokens', 'revoked ' || NEW.jti || ' '
                              || extract(epoch FROM NEW.expires_at)::text);
        END IF;
        RETURN NULL;
    END"""
NOTIFY_ALWAYS = """
    BEGIN
        PERFORM pg_notify('stores_api_tokens', 'revoked ' || NEW.jti || ' '
                          || extract(epoch FROM NEW.expires_at)::text);
        RETURN NULL;
    END"""


def upgrade() -> None:
    op.add_column("revoked_tokens", sa.Column("kind", sa.String(7), nullable=True))
    op.execute("UPDATE revoked_tokens SET kind = 'refresh' WHERE rotated")
    op.create_index("ix_revoked_tokens_seen_by_access_checks", "revoked_tokens", ["revoked_at"],
                    postgresql_where=sa.text(SEEN_BY_ACCESS_CHECKS),
                    sqlite_where=sa.text(SEEN_BY_ACCESS_CHECKS))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION stores_api_notify_revoked() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $${NOTIFY_UNLESS_REFRESH}$$")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION stores_api_notify_revoked() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $${NOTIFY_ALWAYS}$$")
    op.drop_index("ix_revoked_tokens_seen_by_access_checks", "revoked_tokens")
    op.drop_column("revoked_tokens", "kind")  # SQLite 3.35 and later drop in place
