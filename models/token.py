from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

# The revocations an access check can ask about: the predicate of the index
# the workers' token views load through (api/identity/token_view.py), which
# PostgreSQL uses only for a query that repeats it.
SEEN_BY_ACCESS_CHECKS = "kind IS DISTINCT FROM 'refresh'"


class RevokedToken(Base):
    """A revoked JWT id, or a revoked rotation chain (its session id).

    Both are random UUIDs, so one lookup by primary key answers "is this token,
    or the chain it belongs to, revoked?". Rows can be pruned after `expires_at`,
    when every token they could match has expired anyway.
    """

    __tablename__ = "revoked_tokens"
    # What the workers' token views load (api/identity/token_view.py): the
    # recent revocations an access check can ask about, never a refresh's.
    __table_args__ = (
        Index("ix_revoked_tokens_seen_by_access_checks", "revoked_at",
              postgresql_where=text(SEEN_BY_ACCESS_CHECKS),
              sqlite_where=text(SEEN_BY_ACCESS_CHECKS)),
    )

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A refresh token used up by its rotation (at `revoked_at`), not by a
    # logout: re-presented within the reuse leeway it gets its rotated pair.
    rotated: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What was revoked: an `access` token, a `refresh` token or a `chain`
    # (every token of one login). NULL on rows revoked before migration 0011.
    kind: Mapped[str | None] = mapped_column(String(7))
