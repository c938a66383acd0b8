"""Piccolo configuration for the migration CLI (`wfm migrate`): the engine comes from DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from wfm.db import make_engine
from wfm.settings import database_url_from_env

DB = make_engine(database_url_from_env())

APP_REGISTRY = AppRegistry(apps=["wfm.piccolo_app", "pulse.piccolo_app"])
