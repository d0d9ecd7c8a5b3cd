"""Owner ids, server-side sessions, shared rate-limit counts.

- ``users.owner_id``: what an account's galleries (``ID@gallery``) and jobs are stored under.
  Accounts made from now on get a random one; an account that exists already keeps its user
  name as its id, so its galleries and jobs stay its own with no file renamed. A name signed up
  again later gets a new random id and inherits nothing.
- ``sessions``: one row per signed-in browser; signing out deletes it.
- ``rate_limits``: abuse-limit counts shared by every web process when there is no Redis.

Revision ID: 0002_owner_ids
Revises: 0001_accounts
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_owner_ids"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(32), nullable=True))
    op.execute("UPDATE users SET owner_id = username")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("owner_id", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_users_owner_id", ["owner_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False, index=True),
    )


def downgrade():
    op.drop_table("rate_limits")
    op.drop_table("sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_owner_id", type_="unique")
        batch.drop_column("owner_id")
