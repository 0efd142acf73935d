"""Domain errors: the one exception family services raise; the API renders each as RFC 9457 problem JSON.

Each class has a stable ``type_slug`` (the problem ``type`` URI ends with it) and an HTTP status.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RegistryError(Exception):
    """Base of every error the node reports to a client."""

    status_code: ClassVar[int] = 500
    type_slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class ServiceUnavailable(RegistryError):
    status_code = 503
    type_slug = "service-unavailable"
    title = "Service unavailable"


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
