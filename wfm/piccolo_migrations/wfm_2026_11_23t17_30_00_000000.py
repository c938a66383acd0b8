"""One row per agent and week in schedule_seen."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "schedule seen key"

STATEMENTS = {
    "schedule_seen_key": "CREATE UNIQUE INDEX schedule_seen_key ON schedule_seen (agent_id, week_start)",
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
