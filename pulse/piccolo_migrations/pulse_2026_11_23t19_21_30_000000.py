"""Pulse indexes: one participation per person and round (the guard against double answers), one row per
survey and team, one round number per survey, and a round's responses by team."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T19:21:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "pulse indexes"

STATEMENTS = {
    "pulse_participation_once": 'CREATE UNIQUE INDEX pulse_participation_once ON pulse_participation (round, "user")',
    "pulse_survey_team_once": "CREATE UNIQUE INDEX pulse_survey_team_once ON pulse_survey_team (survey, team)",
    "pulse_round_number": "CREATE UNIQUE INDEX pulse_round_number ON pulse_round (survey, number)",
    "pulse_response_round": "CREATE INDEX pulse_response_round ON pulse_response (round, team)",
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="pulse", description=DESCRIPTION)

    async def create() -> None:
        for statement in STATEMENTS.values():
            await Table.raw(statement)

    async def drop() -> None:
        for name in STATEMENTS:
            await Table.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
