"""The `wfm` Piccolo app: its tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from wfm import tables

APP_CONFIG = AppConfig(
    app_name="wfm",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=tables.ALL_TABLES,
    migration_dependencies=[],
    commands=[],
)
