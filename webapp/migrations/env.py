"""Alembic's environment: the app's database and models (run by ``upgrade_schema`` at start,
or ``flask --app webapp db ...`` by hand). Logging is left as the app set it."""

from alembic import context
from flask import current_app

config = context.config
target_db = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata,
                          render_as_batch=True)  # SQLite alters tables by copying them
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=target_db.engine.url.render_as_string(hide_password=False),
                      target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
