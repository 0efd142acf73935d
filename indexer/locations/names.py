"""Region names as lookup keys: case, accents, punctuation and generic words ("State", "Region") do not matter."""

from __future__ import annotations

import re
import unicodedata

GENERIC_WORDS = {
    "state", "region", "province", "governorate", "department", "departement", "district", "county", "oblast",
    "prefecture", "municipality", "territory", "federal", "capital", "of", "the", "autonomous", "republic", "area",
    "de", "du", "des", "del", "da", "do",
}  # fmt: skip


def name_key(name: str) -> str:
    """``"Lagos State"``, ``"LAGOS"`` and ``" lagos "`` all give ``"lagos"``; a name of generic words only stays."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()
    words = re.findall(r"[a-z0-9]+", plain)
    specific = [w for w in words if w not in GENERIC_WORDS]
    return " ".join(specific or words)
