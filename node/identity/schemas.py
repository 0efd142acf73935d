"""Input models of organisations and users (reference §3.2, §3.3), shared by the API and the CSV import.

Field-level rules live here; rules that need the database or the caller (uniqueness, the system country, the
permission matrix) live in the services.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, model_validator

from node.identity.permissions import API, DESCRIPTIVE_ROLES, GOVERNMENT

CONTACT_FIELDS = ("tax_id", "email", "phone", "address")
"""Required for every organisation but the Government and API organisations (§3.2)."""
PHONE_PATTERN = r"^\+?[0-9][0-9 ().-]{5,24}$"
Language = Literal["en", "fr", "es"]
CreatableOrganisationRole = Literal[
    "ProgrammeDeveloper", "Certifier", "API", "Ministry", "Academics", "ServiceProvider",
    "MitigationActivityParticipant", "CarbonCreditBroker", "ValidationVerificationEntities", "CommercialBanks",
    "InvestorsFinanciers", "GovernmentRegulators", "Observers", "CivilSocietyOrganization",
    "InternationalOrganization",
]  # fmt: skip
assert set(get_args(CreatableOrganisationRole)) == {"ProgrammeDeveloper", "Certifier", API, *DESCRIPTIVE_ROLES}


def normalise_email(value: str) -> str:
    """Syntax check (no DNS lookup: the registry may run offline) and the normalised, lower-case form."""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def country_code(value: str) -> str:
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


Email = Annotated[str, Field(max_length=320), AfterValidator(normalise_email)]
Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(country_code)]
Phone = Annotated[str, Field(pattern=PHONE_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganisationFields(_Input):
    tax_id: str | None = Field(default=None, min_length=1, max_length=64)
    email: Email | None = None
    phone: Phone | None = None
    website: HttpUrl | None = None
    address: str | None = Field(default=None, min_length=1, max_length=500)


class OrganisationIn(OrganisationFields):
    name: Name
    role: CreatableOrganisationRole
    country: Country | None = Field(default=None, description="Only Certifiers may be from another country")

    @model_validator(mode="after")
    def _contact_required(self) -> OrganisationIn:
        if self.role not in (GOVERNMENT, API):
            missing = [f for f in CONTACT_FIELDS if getattr(self, f) is None]
            if missing:
                raise ValueError(f"{', '.join(missing)} required for a {self.role} organisation")
        return self


def _no_nulls(model: BaseModel, fields: tuple[str, ...]) -> None:
    """PATCH semantics: an absent field stays; an explicit null may only clear a field that can be empty."""
    cleared = [f for f in fields if f in model.model_fields_set and getattr(model, f) is None]
    if cleared:
        raise ValueError(f"{', '.join(cleared)} cannot be cleared")


class OrganisationUpdate(OrganisationFields):
    name: Name | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> OrganisationUpdate:
        _no_nulls(self, ("name",))
        return self


class UserIn(_Input):
    email: Email
    name: Name
    role: Literal["Admin", "Manager", "ViewOnly", "Root"] = "ViewOnly"
    phone: Phone | None = None
    language: Language = "en"

    @model_validator(mode="after")
    def _no_root(self) -> UserIn:
        if self.role == "Root":
            raise ValueError("Root cannot be created through the API: the registry has exactly one, made by setup")
        return self


class UserUpdate(_Input):
    email: Email | None = None
    name: Name | None = None
    role: Literal["Admin", "Manager", "ViewOnly", "Root"] | None = None
    phone: Phone | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _no_root(self) -> UserUpdate:
        _no_nulls(self, ("email", "name", "role", "language"))
        if self.role == "Root":
            raise ValueError("Nobody can be made Root: the registry has exactly one")
        return self


class NewOrganisation(OrganisationIn):
    """An organisation together with its first user, who becomes its Admin."""

    admin: UserIn

    @model_validator(mode="after")
    def _admin_role(self) -> NewOrganisation:
        if "role" in self.admin.model_fields_set and self.admin.role != "Admin":
            raise ValueError("the first user of a new organisation is its Admin")
        self.admin.role = "Admin"
        return self
