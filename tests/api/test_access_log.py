"""Single-use tokens of emailed links never reach the access log."""

from __future__ import annotations

import logging

import pytest

from api import access_log


def test_the_access_log_redacts_link_tokens(caplog: pytest.LogCaptureFixture) -> None:
    access_log.install()
    access_log.install()
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, access_log.RedactTokens) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/set-password?token=s3cr3t-Value_1&x=1",
                    "1.1", 200)  # fmt: skip
        logger.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/reset-password?lang=fr&token=abc", "1.1", 200)
    assert "s3cr3t" not in caplog.text
    assert "token=abc" not in caplog.text
    assert "/set-password?token=[redacted]&x=1" in caplog.text
    assert "/reset-password?lang=fr&token=[redacted]" in caplog.text
