"""Keys and lookup indexes of the forecast tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T12:34:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "forecast keys"

STATEMENTS = {
    "forecast_interval_key": "CREATE UNIQUE INDEX forecast_interval_key ON forecast_interval (version, interval_start)",
    "forecast_version_latest": "CREATE INDEX forecast_version_latest ON forecast_version (channel, generated_at)",
    "forecast_adjustment_channel": "CREATE INDEX forecast_adjustment_channel ON forecast_adjustment (channel, start_at)",
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
