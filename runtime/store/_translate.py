"""Driver errors become EVA's errors here, and only here."""

from __future__ import annotations

import sqlalchemy.exc

from runtime.errors import DatabaseBusyError, NotADatabaseError, StoreError


def translate(exc: BaseException, url: str) -> BaseException:
    """The EVA error for a driver error, or the error itself when it has none."""
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return exc
    text = str(exc.orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return DatabaseBusyError(url)
    if "file is not a database" in text or "file is encrypted" in text:
        return NotADatabaseError(url)
    if "unable to open database" in text:
        return StoreError(
            url, "the file cannot be opened; check that its folder exists and is writable"
        )
    if "disk i/o error" in text or "database or disk is full" in text:
        return StoreError(url, f"the disk refused a write ({exc.orig}); free space and retry")
    return exc


def is_duplicate_key(exc: BaseException) -> bool:
    """Whether a write failed on a primary-key or unique constraint."""
    return isinstance(exc, sqlalchemy.exc.IntegrityError) and (
        "unique" in str(exc.orig).lower() or "duplicate" in str(exc.orig).lower()
    )
