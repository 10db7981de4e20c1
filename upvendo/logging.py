"""A last line of defence against secrets in logs.

Code that holds a secret in clear (a decrypted POS signature key or encryption token) calls
`register_secret()`; every log record that passes `RedactSecretsFilter` has each registered
value replaced by `[REDACTED]`. The first line of defence remains not logging secrets at all.
"""

from __future__ import annotations

import logging
import threading

_secrets: set[str] = set()
_lock = threading.Lock()
MIN_SECRET_LENGTH = 4
REDACTED = "[REDACTED]"


def register_secret(value: str | None) -> None:
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, ()
            if record.exc_info and record.exc_info[1] is not None:
                exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = redact(exc_text)
        return True
