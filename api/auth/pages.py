"""The pages behind the links in set-password, reset and sign-in emails: a form, and its result.

They work without JavaScript (a plain form POST), so the link works from any mail client and browser. The
token travels in the form, never in a log line; pages are marked ``no-store`` and ``no-referrer``. Opening a
link (GET) never uses its token, so a mail scanner that follows links cannot spend it.

The sign-in page confirms a new device (ADR 0009): submitting it redeems the link, which makes the browser's
address one the account signs in from without a link; an application can instead redeem the token itself at
``POST /auth/login-link`` and get the session directly.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from api.auth import rate_limit
from api.auth.dependencies import context_of
from node.errors import InvalidInput, InvalidPasswordToken
from node.i18n import PASSWORD_PAGE, preferred_language
from node.identity import password_links
from node.identity.bootstrap import forget_first_password
from node.identity.password_links import PASSWORD_PURPOSES, Purpose

router = APIRouter(include_in_schema=False)
_page = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{ title }} · {{ registry }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.5rem}button{padding:.6rem}
.error{color:#a00}</style></head>
<body><h1>{{ title }}</h1>
{% if message %}<p class="{{ 'error' if error else 'ok' }}" role="status">{{ message }}</p>{% endif %}
{% if form %}<form method="post">
<input type="hidden" name="token" value="{{ token }}">
<label for="p1">{{ t.new }}</label>
<input id="p1" name="new_password" type="password" minlength="12" autocomplete="new-password" required>
<label for="p2">{{ t.repeat }}</label>
<input id="p2" name="confirm_password" type="password" minlength="12" autocomplete="new-password" required>
<button type="submit">{{ t.save }}</button></form>{% endif %}
{% if confirm %}<p>{{ t.intro }}</p><form method="post">
<input type="hidden" name="token" value="{{ token }}">
<button type="submit">{{ t.confirm }}</button></form>{% endif %}</body></html>""")
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
SAME_PASSWORD = {
    "en": "Choose a password other than your current one.",
    "fr": "Choisissez un mot de passe différent de l'actuel.",
    "es": "Elija una contraseña distinta de la actual.",
}
"""The page's refusal of an unchanged password (kept here until ``node.i18n.PASSWORD_PAGE`` gets a ``same`` entry)."""
LOGIN_LINK_PAGE = {
    "en": {"title": "Confirm your sign-in", "confirm": "Confirm",
           "intro": "Confirm that you are signing in from this device; then sign in with your password again.",
           "done": "Confirmed: this device's address is now recognised. Sign in with your password again."},
    "fr": {"title": "Confirmez votre connexion", "confirm": "Confirmer",
           "intro": "Confirmez que vous vous connectez depuis cet appareil, puis reconnectez-vous avec votre mot "
                    "de passe.",
           "done": "Confirmé : l'adresse de cet appareil est désormais reconnue. Reconnectez-vous avec votre mot "
                   "de passe."},
    "es": {"title": "Confirme su inicio de sesión", "confirm": "Confirmar",
           "intro": "Confirme que inicia sesión desde este dispositivo; luego vuelva a iniciar sesión con su "
                    "contraseña.",
           "done": "Confirmado: la dirección de este dispositivo ya es reconocida. Vuelva a iniciar sesión con su "
                   "contraseña."},
}  # fmt: skip
"""The sign-in link page's words (with ``PASSWORD_PAGE``'s ``invalid``), kept beside the page like ``SAME_PASSWORD``."""


def _render(request: Request, language: str, *, status: int = 200, message: str | None = None,
            **values: object) -> HTMLResponse:  # fmt: skip
    """The page in ``language``: the user's own once the token is known, else the browser's preference."""
    if request.url.path.endswith("login-link"):
        text = LOGIN_LINK_PAGE[language] | {"invalid": PASSWORD_PAGE[language]["invalid"]}
        title = text["title"]
    else:
        text = PASSWORD_PAGE[language] | {"same": SAME_PASSWORD[language]}
        title = text["set"] if request.url.path.endswith("/set-password") else text["reset"]  # not "/reset-password"
    html = _page.render(title=title, lang=language, t=text, registry=context_of(request).settings.registry_name,
                        message=text[message] if message else None, **values)  # fmt: skip
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _user_language(request: Request, token: str, purposes: tuple[Purpose, ...] = PASSWORD_PURPOSES) -> str | None:
    """The token's user's language, or None for a link that cannot be used (or is not one of ``purposes``)."""
    try:
        with context_of(request).engine.begin() as conn:
            return password_links.language_of(conn, password_links.check_token(conn, token, purposes))
    except InvalidPasswordToken:
        return None


@router.get("/set-password", response_class=HTMLResponse)
@router.get("/reset-password", response_class=HTMLResponse)
def password_form(request: Request, token: str = "") -> HTMLResponse:
    language = _user_language(request, token)
    if language is None:
        return _render(request, preferred_language(request.headers.get("accept-language")), status=400,
                       message="invalid", error=True)  # fmt: skip
    return _render(request, language, form=True, token=token)


@router.post("/set-password", response_class=HTMLResponse)
@router.post("/reset-password", response_class=HTMLResponse)
def submit_password(
    request: Request,
    token: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
    confirm_password: Annotated[str, Form()],
) -> HTMLResponse:
    language = _user_language(request, token)
    if language is None:
        return _render(request, preferred_language(request.headers.get("accept-language")), status=400,
                       message="invalid", error=True)  # fmt: skip
    if new_password != confirm_password or not 12 <= len(new_password) <= 1024:
        problem = "differ" if new_password != confirm_password else "short"
        return _render(request, language, status=422, form=True, token=token, message=problem, error=True)
    context = context_of(request)
    try:
        with context.engine.begin() as conn:
            password_links.use_token(conn, context.settings, token, new_password)
    except InvalidPasswordToken:  # used by a concurrent submission in the meantime
        return _render(request, language, status=400, message="invalid", error=True)
    except InvalidInput:  # the current password: the link stays usable for another try
        return _render(request, language, status=422, form=True, token=token, message="same", error=True)
    forget_first_password(context.engine, context.settings)  # after the commit, in case this was Root
    return _render(request, language, message="saved")


@router.get("/login-link", response_class=HTMLResponse)
def login_link_form(request: Request, token: str = "") -> HTMLResponse:
    """Shows the confirmation button; the link is only used once it is pressed."""
    language = _user_language(request, token, ("login",))
    if language is None:
        return _render(request, preferred_language(request.headers.get("accept-language")), status=400,
                       message="invalid", error=True)  # fmt: skip
    return _render(request, language, confirm=True, token=token)


@router.post("/login-link", response_class=HTMLResponse)
def confirm_login_link(request: Request, token: Annotated[str, Form()]) -> HTMLResponse:
    """Redeems the sign-in link: the browser's address becomes one the account signs in from. No session is handed
    to the page (nothing here could use it); the user signs in again with the password."""
    language = _user_language(request, token, ("login",))
    if language is not None:
        context = context_of(request)
        try:
            with context.engine.begin() as conn:
                password_links.redeem_login_link(conn, token, rate_limit.client_of(request))
            return _render(request, language, message="done")
        except InvalidPasswordToken:  # used by a concurrent submission in the meantime
            pass
    return _render(request, language or preferred_language(request.headers.get("accept-language")), status=400,
                   message="invalid", error=True)  # fmt: skip
