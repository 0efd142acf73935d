"""Domain errors: the one exception family services raise; the API renders each as RFC 9457 problem JSON.

Each class has a stable ``type_slug`` (the problem ``type`` URI ends with it) and an HTTP status.

Why a message is a constant English template with ``{name}`` placeholders and separate ``params``, never an
f-string: the template is the id of its translations (the web UI shows the message in the reader's language,
``api/web/messages.py``), the API's ``detail`` is the template filled in. ``tests/node/test_error_messages.py``
checks every message raised in ``node/`` and ``api/`` is a constant and is in the French and Spanish catalogs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic_core import PydanticCustomError


class RegistryError(Exception):
    """Base of every error the node reports to a client."""

    status_code: ClassVar[int] = 500
    type_slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str, /, *, params: Mapping[str, Any] | None = None, **extensions: Any) -> None:
        self.message = message
        self.params = dict(params or {})
        self.detail = message.format(**self.params) if params else message
        self.extensions = extensions
        super().__init__(self.detail)


class ServiceUnavailable(RegistryError):
    status_code = 503
    type_slug = "service-unavailable"
    title = "Service unavailable"


class IndexerBehind(ServiceUnavailable):
    """The change is on the chain, but the indexer has not applied its block in time: a read now would not show it.

    A 503 with ``Retry-After``: the write succeeded, so the client retries the read, not the write.
    """

    type_slug = "indexer-behind"
    title = "Indexer behind"


class NotAuthenticated(RegistryError):
    """No valid credentials: missing, malformed, tampered or expired token."""

    status_code = 401
    type_slug = "not-authenticated"
    title = "Not authenticated"


class InvalidCredentials(NotAuthenticated):
    """Wrong email or password; the message never says which."""

    type_slug = "invalid-credentials"
    title = "Invalid credentials"


class Forbidden(RegistryError):
    status_code = 403
    type_slug = "forbidden"
    title = "Forbidden"


class PasswordChangeRequired(Forbidden):
    """The account must change its password before doing anything else."""

    type_slug = "password-change-required"
    title = "Password change required"


class TooManyRequests(RegistryError):
    """Too many attempts; ``retry_after`` (seconds) says when to try again."""

    status_code = 429
    type_slug = "too-many-login-attempts"
    title = "Too many login attempts"


class OrganisationSuspended(Forbidden):
    """The caller's organisation is suspended: its users may read but not change anything."""

    type_slug = "organisation-suspended"
    title = "Organisation suspended"


class NotFound(RegistryError):
    """No such resource, or one the caller may not see (row-level filters answer 404, never 403)."""

    status_code = 404
    type_slug = "not-found"
    title = "Not found"


class AlreadyExists(RegistryError):
    """A unique value (email, tax id, the one Government) is already taken."""

    status_code = 409
    type_slug = "already-exists"
    title = "Already exists"


class InvalidState(RegistryError):
    """The request contradicts the resource's current state (already suspended, last Admin, ...)."""

    status_code = 409
    type_slug = "invalid-state"
    title = "Invalid state"


class InvalidInput(RegistryError):
    """Well-formed input that breaks a registry rule (wrong country for the role, Root through the API...)."""

    status_code = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class InvalidPasswordToken(RegistryError):
    """A set-password or reset link that is unknown, expired or already used."""

    status_code = 400
    type_slug = "invalid-password-token"
    title = "Invalid or expired link"


class PayloadTooLarge(RegistryError):
    status_code = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(RegistryError):
    status_code = 415
    type_slug = "unsupported-media-type"
    title = "Unsupported media type"


class PreconditionRequired(RegistryError):
    """The request must carry a header that makes it safe (RFC 6585), e.g. an ``Idempotency-Key``."""

    status_code = 428
    type_slug = "precondition-required"
    title = "Precondition required"


def invalid_value(message: str, /, **params: Any) -> PydanticCustomError:
    """A validator's error with a translatable template (raise it where a plain ``ValueError`` would need an f-string).

    pydantic fills the template from ``params`` for the API's ``msg``; the template itself rides along in the
    error's context so the web UI can translate it (``api/web/messages.py``). A message without values can stay a
    plain ``ValueError("constant")``.
    """
    return PydanticCustomError("value_error", message, {**params, "template": message})
