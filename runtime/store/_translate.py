"""Driver errors become EVA's errors here, and only here."""

from __future__ import annotations

import sqlite3

import sqlalchemy.exc

from runtime.errors import DatabaseBusyError, NotADatabaseError, StoreError


class StaleWriteError(Exception):
    """A guarded write found the database not as its writer expected.

    Raised when a journal event's predecessor is not the event it chained to
    (another writer appended first), so nothing was written.
    """

    def __init__(self, statement: str) -> None:
        self.statement = statement
        super().__init__(f"a guarded {statement} write found the data changed under it")


def _driver_error(exc: BaseException) -> BaseException | None:
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return exc.orig
    if isinstance(exc, sqlite3.Error):
        return exc
    return None


def translate(exc: BaseException, url: str) -> BaseException:
    """The EVA error for a driver error, or the error itself when it has none."""
    orig = _driver_error(exc)
    if orig is None:
        return exc
    text = str(orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return DatabaseBusyError(url)
    if "file is not a database" in text or "file is encrypted" in text:
        return NotADatabaseError(url)
    if "unable to open database" in text:
        return StoreError(
            url, "the file cannot be opened; check that its folder exists and is writable"
        )
    if "disk i/o error" in text or "database or disk is full" in text:
        return StoreError(url, f"the disk refused a write ({orig}); free space and retry")
    return exc


def is_stale_write(exc: BaseException) -> bool:
    """Whether a write lost a race: a duplicate key, or a guard that found the data changed."""
    if isinstance(exc, StaleWriteError):
        return True
    orig = _driver_error(exc)
    if not isinstance(exc, sqlite3.IntegrityError | sqlalchemy.exc.IntegrityError):
        return False
    text = str(orig).lower()
    return "unique" in text or "duplicate" in text
