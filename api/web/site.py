"""Wires the web UI into the app: its routers, its assets, and the sign-in redirect of its pages."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from api.web import assets, auth, pages, public
from api.web.session import SignInRequired


def _sign_in(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(exc.location, status_code=303)


def install(app: FastAPI) -> None:
    """The fixed routers, then every module of ``api.web.pages`` (one per feature, each with a ``router``)."""
    for router in (assets.router, auth.router, public.router):
        app.include_router(router)
    for module in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        app.include_router(importlib.import_module(f"{pages.__name__}.{module.name}").router)
    app.add_exception_handler(SignInRequired, _sign_in)
