"""The `pulse` Piccolo app: survey tables and their migrations (they follow the `wfm` app's)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from pulse import tables

APP_CONFIG = AppConfig(
    app_name="pulse",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=tables.ALL_TABLES,
    migration_dependencies=["wfm.piccolo_app"],
    commands=[],
)
