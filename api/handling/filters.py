"""Query filters shared by the lists."""

from models.names import search_key


def name_contains(model, text: str):
    """Substring match ignoring case (see models.names); `%` and `_` in `text`
    match themselves."""
    escaped = search_key(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return model.name_folded.like(f"%{escaped}%", escape="\\")
