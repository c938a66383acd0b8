"""Composite unique keys of the foundation tables, as unique indexes.

SQLite cannot ALTER TABLE ... ADD CONSTRAINT, and ON CONFLICT on these columns works with a unique
index on both engines, so the keys are indexes made here rather than Piccolo constraints.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T09:34:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys"

UNIQUE_KEYS = {
    "channel_hours_key": "channel_hours (channel, weekday)",
    "audit_daily_key": "audit_daily (day, action)",
    "team_member_key": 'team_member ("user", team)',
    "agent_skill_key": "agent_skill (agent, channel)",
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="wfm", description=DESCRIPTION)

    async def create_keys() -> None:
        for name, columns in UNIQUE_KEYS.items():
            await Table.raw(f"CREATE UNIQUE INDEX {name} ON {columns}")

    async def drop_keys() -> None:
        for name in UNIQUE_KEYS:
            await Table.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_keys)
    manager.add_raw_backwards(drop_keys)
    return manager
