"""Lookup indexes of the schedule tables: a team's weeks, a schedule's rows, an agent's rows in time."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T16:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "schedule lookup indexes"

STATEMENTS = {
    "schedule_team_week": "CREATE INDEX schedule_team_week ON schedule (team, week_start)",
    "schedule_activity_schedule": "CREATE INDEX schedule_activity_schedule ON schedule_activity (schedule)",
    "schedule_activity_agent": "CREATE INDEX schedule_activity_agent ON schedule_activity (agent_id, start_at)",
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
