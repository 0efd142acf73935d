"""Input models of organisations and users (reference §3.2, §3.3), shared by the API and the CSV import.

Field-level rules live here; rules that need the database or the caller (uniqueness, the system country, the
permission matrix) live in the services. Two rules apply to every text a person types, because the text ends up
in emails, logs and other people's screens:

- an email address has one form (``normalise_email``): NFKC and case folding, so ``ｇov.admin@example.org`` and
  ``Gov.Admin@example.org`` are the account ``gov.admin@example.org``, not a second one beside it;
- a single-line field holds one line of visible text (``single_line``): a CR/LF would forge a log line or an
  email line, a bidirectional override would make a reviewer read another name than the one stored.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal, get_args

import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, JsonValue, model_validator

from node.errors import invalid_value
from node.identity.permissions import ACTIVE, API, DESCRIPTIVE_ROLES, GOVERNMENT, ROOT, SUSPENDED, USER_ROLES

MAX_BIGINT = 2**63 - 1
"""Largest PostgreSQL ``bigint``: ids above it cannot exist, and must be a 422 rather than a database error."""
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
UserRole = Literal["Admin", "Manager", "ViewOnly"]
"""The roles a caller can give. Root is not one: the registry has exactly one Root, made by ``registry setup``."""
assert set(get_args(UserRole)) == set(USER_ROLES) - {ROOT}
AnyUserRole = Literal["Root", "Admin", "Manager", "ViewOnly"]
"""Every role a user can have, for filters: Root exists, it just cannot be given."""
assert get_args(AnyUserRole) == USER_ROLES
AnyOrganisationRole = Literal["Government", CreatableOrganisationRole]
"""Every role an organisation can have, for filters: the one Government is made by ``registry setup``."""
assert set(get_args(AnyOrganisationRole)) == {GOVERNMENT, *get_args(CreatableOrganisationRole)}
OrganisationState = Literal["active", "suspended"]
assert get_args(OrganisationState) == (ACTIVE, SUSPENDED)

_LINE_BREAKING_OR_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control (CR, LF, tab, ESC...), format (bidi overrides, zero-width space), lone surrogates, line/paragraph
separators. Ordinary spaces are ``Zs`` and stay allowed."""
_JOINERS = frozenset("\u200c\u200d")
"""ZWNJ and ZWJ are format characters that Persian, Indic scripts and emoji sequences need inside a name; they
neither break a line nor reorder text, so they stay allowed."""


def single_line(value: str) -> str:
    """Refuses anything but one line of visible text: names, addresses and remarks are written into emails and
    logs, where a CR/LF forges a line, and shown to reviewers, where a bidi override disguises the text."""
    for char in value:
        if unicodedata.category(char) in _LINE_BREAKING_OR_INVISIBLE and char not in _JOINERS:
            raise invalid_value(
                "must be one line without control or invisible characters (found U+{code})", code=f"{ord(char):04X}"
            )
    return value


def canonical_email(value: str) -> str:
    """NFKC, case folding, NFKC again (folding can undo normalisation): compatibility, width and case variants of
    an address become one string. No syntax check: see ``normalise_email`` and ``lookup_email``."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value.strip()).casefold())


def normalise_email(value: str) -> str:
    """The one stored form of an address: syntax checked (no DNS lookup: the registry may run offline), then
    canonical. Every path that stores an address (create, update, CSV import) goes through here."""
    try:
        normalised = validate_email(canonical_email(value), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _email_error(str(exc)) from exc
    return canonical_email(normalised)


def _email_error(reason: str) -> ValueError:
    """email_validator's reason as one of a few constant (translatable) messages: its own words for the usual
    mistakes, a general one for the rest (its messages often carry the offending characters)."""
    if reason == "An email address must have an @-sign.":
        return ValueError("An email address must have an @-sign.")
    if reason == "There must be something before the @-sign.":
        return ValueError("There must be something before the @-sign.")
    if reason == "There must be something after the @-sign.":
        return ValueError("There must be something after the @-sign.")
    if reason == "The part after the @-sign is not valid. It should have a period.":
        return ValueError("The part after the @-sign is not valid. It should have a period.")
    if reason == "The part after the @-sign is a special-use or reserved name that cannot be used with email.":
        return ValueError("The part after the @-sign is a special-use or reserved name that cannot be used with email.")
    if reason == "An email address cannot have two periods in a row.":
        return ValueError("An email address cannot have two periods in a row.")
    if "too long" in reason:
        return ValueError("The email address is too long.")
    if "@-sign" in reason and "invalid character" in reason:
        return ValueError("The email address contains characters that are not allowed.")
    return ValueError("The email address is not valid.")


def lookup_email(value: str) -> str:
    """The stored form of an address someone types to log in or reset a password. Never an error: an invalid
    address simply matches nobody, and must be answered like an unknown one."""
    try:
        return normalise_email(value)
    except ValueError:
        return canonical_email(value)


def country_code(value: str) -> str:
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise invalid_value("{value} is not an ISO 3166-1 alpha-2 country code", value=repr(value))
    return code


Email = Annotated[str, Field(max_length=320), AfterValidator(normalise_email)]
LookupEmail = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(lookup_email)]
Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(country_code)]
Phone = Annotated[str, Field(pattern=PHONE_PATTERN)]
SINGLE_LINE = AfterValidator(single_line)
"""For every one-line text field (names, titles, addresses, remarks...), after its length:
``Annotated[str, Field(max_length=1000), SINGLE_LINE]`` (the length first, so its error speaks of characters)."""
Name = Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE]
TaxId = Annotated[str, Field(min_length=1, max_length=64), SINGLE_LINE]
Address = Annotated[str, Field(min_length=1, max_length=500), SINGLE_LINE]
DatabaseId = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
"""An id of a ``bigint`` column: an oversized number is a validation error (422), never a database error."""

_CONTACT = "Required unless the organisation's role is API (the Government is made by setup and needs none)."


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganisationFields(_Input):
    tax_id: TaxId | None = Field(default=None, description=f"Tax or VAT id, unique. {_CONTACT}")
    email: Email | None = Field(default=None, description=f"Contact address, unique. {_CONTACT}")
    phone: Phone | None = Field(default=None, description=f"International format, e.g. +234 800 000 0000. {_CONTACT}")
    website: HttpUrl | None = Field(default=None, description="Optional for every role")
    address: Address | None = Field(default=None, description=f"Postal address on one line. {_CONTACT}")


class OrganisationIn(OrganisationFields):
    """An organisation. Contact fields by role: ``tax_id``, ``email``, ``phone`` and ``address`` are required for
    every role except ``API`` (an MRV system, which may have none); ``website`` is always optional. The
    Government organisation is created by ``registry setup``, never through the API."""

    name: Name
    role: CreatableOrganisationRole
    country: Country | None = Field(default=None, description="Only Certifiers may be from another country")

    @model_validator(mode="after")
    def _contact_required(self) -> OrganisationIn:
        if self.role not in (GOVERNMENT, API):
            missing = [f for f in CONTACT_FIELDS if getattr(self, f) is None]
            if missing:
                raise invalid_value(
                    "{fields} required for a {role} organisation", fields=", ".join(missing), role=self.role
                )
        return self


def _no_nulls(model: BaseModel, fields: tuple[str, ...]) -> None:
    """PATCH semantics: an absent field stays; an explicit null may only clear a field that can be empty."""
    cleared = [f for f in fields if f in model.model_fields_set and getattr(model, f) is None]
    if cleared:
        raise invalid_value("{fields} cannot be cleared", fields=", ".join(cleared))


class OrganisationUpdate(OrganisationFields):
    """Changes to an organisation; absent fields stay. Contact fields can be cleared (null) only for API
    organisations and the Government: every other role must keep its ``tax_id``, ``email``, ``phone`` and
    ``address``."""

    name: Name | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> OrganisationUpdate:
        _no_nulls(self, ("name",))
        return self


class UserIn(_Input):
    email: Email
    name: Name
    role: UserRole = Field(default="ViewOnly", description="Root cannot be given: setup makes the only one")
    phone: Phone | None = None
    language: Language = Field(default="en", description="Language of the user's emails and pages")


class UserUpdate(_Input):
    email: Email | None = Field(
        default=None, description="Admins only; the old address is told, and its unused links stop working"
    )
    name: Name | None = None
    role: UserRole | None = Field(default=None, description="Admins only; Root cannot be given")
    phone: Phone | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> UserUpdate:
        _no_nulls(self, ("email", "name", "role", "language"))
        return self


ORGANISATION_EXAMPLES: list[JsonValue] = [
    {
        "name": "Green Cookstoves Ltd", "role": "ProgrammeDeveloper", "tax_id": "NG-12345678",
        "email": "contact@greencookstoves.example", "phone": "+234 800 000 0001",
        "address": "12 Marina Road, Lagos", "website": "https://greencookstoves.example",
        "admin": {"email": "amina@greencookstoves.example", "name": "Amina Bello", "language": "en"},
    },
    {
        "name": "Verifiers International", "role": "Certifier", "country": "FR", "tax_id": "FR-99887766",
        "email": "registry@verifiers.example", "phone": "+33 1 23 45 67 89", "address": "5 rue de la Paix, Paris",
        "admin": {"email": "luc@verifiers.example", "name": "Luc Martin", "language": "fr"},
    },
    {
        "name": "National MRV System", "role": "API",
        "admin": {"email": "mrv-admin@ministry.example", "name": "MRV Operator"},
    },
]  # fmt: skip
"""Bodies of ``POST /organisations``: a developer and a certifier with their contact fields, an API organisation
without (the tests check that each one validates)."""


class NewOrganisation(OrganisationIn):
    """An organisation together with its first user, who becomes its Admin. ``tax_id``, ``email``, ``phone`` and
    ``address`` are required for every role except ``API``; a Certifier may name another ``country``."""

    model_config = ConfigDict(json_schema_extra={"examples": ORGANISATION_EXAMPLES})

    admin: UserIn

    @model_validator(mode="after")
    def _admin_role(self) -> NewOrganisation:
        if "role" in self.admin.model_fields_set and self.admin.role != "Admin":
            raise ValueError("the first user of a new organisation is its Admin")
        self.admin.role = "Admin"
        return self
