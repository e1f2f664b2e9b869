"""Schema migrations (Alembic), applied whenever the runtime opens a database.

An older EVA database is upgraded in place; a database that is newer than
this EVA, or that holds tables EVA did not create, is refused, never
recreated.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from runtime.errors import StoreError

_HERE = Path(__file__).parent


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this EVA knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection) -> None:
    """Bring the database to the newest revision, refusing foreign databases."""
    url = connection.engine.url.render_as_string(hide_password=True)
    scripts = ScriptDirectory.from_config(_config())
    revision = current_revision(connection)
    if revision is None:
        tables = set(sa.inspect(connection).get_table_names())
        if tables:
            raise StoreError(
                url,
                f"it holds tables EVA did not create ({', '.join(sorted(tables)[:5])}); "
                "give EVA its own database file",
            )
    elif revision not in {s.revision for s in scripts.walk_revisions()}:
        raise StoreError(
            url,
            f"its schema revision {revision} is newer than this EVA knows "
            f"({scripts.get_current_head()}); upgrade EVA",
        )
    command.upgrade(_config(connection), "head")
