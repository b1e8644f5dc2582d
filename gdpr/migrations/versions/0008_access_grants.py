"""Temporary support access: a user asks to see one subject unmasked for a while, the DPO decides (four
eyes), the grant expires by itself (or is revoked) and both sides are told.

Revision ID: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_grants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("requester_id", sa.String(32), nullable=False, index=True),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_key", sa.String(64), nullable=False),
        sa.Column("subject_ref", sa.String(64), nullable=False, index=True),
        sa.Column("club_id", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("open_key", sa.String(120), unique=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("reject_reason", sa.Text),
        sa.Column("expires_at", sa.DateTime(timezone=True), index=True),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("ended_by", sa.String(32)),
        sa.Column("end_reason", sa.Text),
        sa.Column("end_told_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("access_grants")
