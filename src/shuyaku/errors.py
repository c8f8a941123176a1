"""One base for every error a person can act on, with its exit code and HTTP status.

A service raises a subclass with a Japanese message that names the file, line, item or
setting and the fix; the CLI maps ``ShuyakuError`` once (``cli.ShuyakuTyper``: the message,
then ``exit_code``), and the web layer will map it once to an RFC 9457 problem with
``http_status``. Anything else that escapes is a bug: logged, shown in one redacted line.
Each subclass keeps the built-in class it had before (ValueError, PermissionError …), so
existing ``except`` clauses still hold.
"""

from __future__ import annotations

from typing import ClassVar


class ShuyakuError(Exception):
    exit_code: ClassVar[int] = 2  # 2: what was asked cannot be done as asked; 1: done, but something was refused
    http_status: ClassVar[int] = 400


class InvalidRequest(ShuyakuError):
    """The request or its input breaks a rule (400)."""


class Forbidden(ShuyakuError):
    """The policy refuses it (403); already in the access log."""

    http_status = 403


class Unauthenticated(ShuyakuError):
    """No valid log-in (401)."""

    http_status = 401


class NotFoundError(ShuyakuError):
    """What was named does not exist (404)."""

    http_status = 404


class Refused(ShuyakuError):
    """The work was done except for something the system refused to let out (409), e.g. a
    file the outbox guard stopped."""

    exit_code = 1
    http_status = 409


class Conflict(ShuyakuError):
    """The thing changed since it was shown: somebody else decided it first (409)."""

    http_status = 409


class Unavailable(ShuyakuError):
    """The installation is not ready: not initialised, a key or the font missing (503)."""

    http_status = 503


class TooManyRequests(ShuyakuError):
    """Too many requests from one caller in a short time (429); the message says when to retry."""

    exit_code = 1
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
