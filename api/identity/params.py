"""Path and query parameters shared by the identity routers, bounded to what the database can hold.

Ids are PostgreSQL ``bigint``: a larger number is a 422 at the edge, never a database error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from node.identity.schemas import MAX_BIGINT

OrganisationId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="Also the organisation's chain account")]
UserId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_BIGINT)]
CountryFilter = Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")]
