"""Shared proofs (issue 25): an erasure waiting for its residue proof, who is proving it (and until when),
and the proof's result (tables, columns and row counts: never a value), on its ledger row.

Revision ID: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erasure_ledger") as batch:
        batch.add_column(sa.Column("proof_wanted", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("prover", sa.String(64)))
        batch.add_column(sa.Column("proving_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("proof", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("erasure_ledger") as batch:
        for name in ("proof", "proving_until", "prover", "proof_wanted"):
            batch.drop_column(name)
