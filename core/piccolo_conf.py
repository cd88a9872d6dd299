"""Piccolo's configuration module (``PICCOLO_CONF=core.piccolo_conf``).

``DB`` is the engine every table and migration uses; ``core.db.bind`` replaces it at start-up
with the engine built from the settings.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.sqlite import SQLiteEngine

DB = SQLiteEngine(path="var/sip.sqlite3")

APP_REGISTRY = AppRegistry(apps=["core.piccolo_app"])
