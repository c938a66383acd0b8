"""Keys of the imported tables, as unique indexes, and the indexes rollback and browsing use.

An optional key column (team, channel) is stored as 0 when absent, never NULL, so these keys hold on
re-import on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T11:13:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "import keys"

UNIQUE_KEYS = {
    "contact_interval_key": "contact_interval (interval_start, channel, team_id)",
    "absence_key": "absence (agent_id, start_at)",
    "availability_key": "availability (agent_id, weekday, start_minute)",
    "outcome_key": "outcome (period, team_id, channel_id)",
    "overhead_key": "overhead (month, category)",
    "worked_hours_key": "worked_hours (agent_id, day, channel_id)",
}
IMPORTED = (
    "agent",
    "contact_interval",
    "absence",
    "availability",
    "outcome",
    "finance_month",
    "overhead",
    "worked_hours",
)
INDEXES = {f"{table}_batch": f"{table} (batch_id)" for table in IMPORTED} | {
    f"{table}_prior_replaced_by": f"{table}_prior (replaced_by)" for table in IMPORTED
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="wfm", description=DESCRIPTION)

    async def create() -> None:
        for name, columns in UNIQUE_KEYS.items():
            await Table.raw(f"CREATE UNIQUE INDEX {name} ON {columns}")
        for name, columns in INDEXES.items():
            await Table.raw(f"CREATE INDEX {name} ON {columns}")

    async def drop() -> None:
        for name in [*UNIQUE_KEYS, *INDEXES]:
            await Table.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
