"""What "the same name" means, on every database alike.

Names are kept in Unicode NFC, so "Café" typed with a composed é and with an e
and a combining accent is one name: uniqueness compares NFC text exactly. Search
ignores case by comparing full Unicode case folds (`str.casefold`), computed here
and stored beside the name, because SQLite's lower() folds ASCII only and
PostgreSQL's follows the database's locale.
"""

import unicodedata

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, validates

# casefold() can lengthen a text (ß -> ss): room for 80 characters folded.
FOLDED_LENGTH = 320


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def search_key(text: str) -> str:
    """The form in which names and searches for them are compared."""
    return nfc(nfc(text).casefold())


def _search_key_of_inserted_name(context) -> str:
    return search_key(context.get_current_parameters()["name"])


class NormalisedName:
    """A `name` column kept in NFC."""

    @validates("name")
    def _normalise_name(self, _key, name: str) -> str:
        return nfc(name)


class SearchableName:
    """A `name` column kept in NFC, with its search key beside it."""

    # The default serves bulk inserts that bypass the ORM (the benchmark's seed).
    name_folded: Mapped[str] = mapped_column(
        String(FOLDED_LENGTH), default=_search_key_of_inserted_name
    )

    @validates("name")
    def _normalise_name(self, _key, name: str) -> str:
        self.name_folded = search_key(name)
        return nfc(name)
