"""Query filters shared by the lists."""

from sqlalchemy import func


def name_contains(column, text: str):
    """Case-insensitive substring match; `%` and `_` in `text` match themselves."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")
