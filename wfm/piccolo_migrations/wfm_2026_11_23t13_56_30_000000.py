"""Keys and lookup indexes of the requirement tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T13:56:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "requirement keys"

STATEMENTS = {
    "requirement_interval_key": (
        "CREATE UNIQUE INDEX requirement_interval_key ON requirement_interval (requirement_set, interval_start)"
    ),
    "requirement_set_latest": "CREATE INDEX requirement_set_latest ON requirement_set (channel, risk, created_at)",
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="wfm", description=DESCRIPTION)

    async def create() -> None:
        for statement in STATEMENTS.values():
            await Table.raw(statement)

    async def drop() -> None:
        for name in STATEMENTS:
            await Table.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
