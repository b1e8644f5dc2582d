"""A realistic club-management schema (SQLAlchemy Core). The bot knows it only via config/datamap.yaml."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, MetaData, Numeric, String, Table, Text

metadata = MetaData()


def _id() -> Column:
    return Column("id", Integer, primary_key=True)


def _member_fk(nullable: bool = False) -> Column:
    return Column("member_id", Integer, ForeignKey("members.id"), nullable=nullable, index=True)


clubs = Table(
    "clubs", metadata, _id(),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("country", String(2), nullable=False),
    Column("gdpr_contact_name", String(120)),
    Column("gdpr_contact_email", String(200)),
)

staff = Table(
    "staff", metadata, _id(),
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False),
    Column("display_name", String(120), nullable=False),
    Column("work_email", String(200)),
    Column("role", String(40), nullable=False),
)

members = Table(
    "members", metadata, _id(),
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False, index=True),
    Column("member_number", String(20), nullable=False, unique=True),
    Column("first_name", String(80)),
    Column("last_name", String(80)),
    Column("email", String(200), index=True),
    Column("phone", String(40), index=True),
    Column("birth_date", Date),
    Column("gender", String(12)),
    Column("national_id", String(40)),
    Column("street", String(200)),
    Column("postcode", String(16)),
    Column("city", String(100)),
    Column("country", String(2)),
    Column("photo_url", String(300)),
    Column("guardian_member_id", Integer, ForeignKey("members.id"), index=True),  # deletes check it
    Column("status", String(16), nullable=False),
    Column("joined_on", Date, nullable=False),
    Column("ended_on", Date),
    Column("created_at", DateTime, nullable=False),
    Column("restricted_at", DateTime),  # Art. 18: since when processing is restricted (stored only); NULL: not
)

emergency_contacts = Table(
    "emergency_contacts", metadata, _id(), _member_fk(),
    Column("contact_name", String(160), nullable=False),
    Column("contact_phone", String(40), nullable=False),
    Column("relation", String(40)),
)

bank_accounts = Table(
    "bank_accounts", metadata, _id(), _member_fk(),
    Column("iban", String(40), nullable=False),
    Column("bic", String(16)),
    Column("owner_name", String(160)),
    Column("sepa_mandate_ref", String(40)),
    Column("mandate_signed_on", Date),
)

access_credentials = Table(
    "access_credentials", metadata, _id(), _member_fk(),
    Column("kind", String(10), nullable=False),
    Column("credential_number", String(40), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("revoked_on", Date),
)

contracts = Table(
    "contracts", metadata, _id(), _member_fk(nullable=True),  # cut from an erased member under hold
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False),
    Column("plan", String(40), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("monthly_fee", Numeric(8, 2), nullable=False),
)

visits = Table(
    "visits", metadata, _id(), _member_fk(),
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False),
    Column("checked_in_at", DateTime, nullable=False),
    Column("checked_out_at", DateTime),
)

invoices = Table(
    "invoices", metadata, _id(), _member_fk(nullable=True),  # cut from an erased member under hold
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False),
    Column("invoice_number", String(30), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("buyer_name", String(160)),
    Column("buyer_address", String(300)),
    Column("total", Numeric(10, 2), nullable=False),
)

payments = Table(
    "payments", metadata, _id(), _member_fk(nullable=True),  # cut from an erased member under hold
    Column("invoice_id", Integer, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("paid_at", DateTime, nullable=False),
    Column("amount", Numeric(10, 2), nullable=False),
    Column("method", String(20), nullable=False),
)

pos_sales = Table(
    "pos_sales", metadata, _id(), _member_fk(nullable=True),
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False),
    Column("sold_at", DateTime, nullable=False),
    Column("item", String(80), nullable=False),
    Column("amount", Numeric(8, 2), nullable=False),
)

class_bookings = Table(
    "class_bookings", metadata, _id(), _member_fk(),
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False),
    Column("class_name", String(60), nullable=False),
    Column("starts_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
)

crm_leads = Table(
    "crm_leads", metadata, _id(),
    Column("club_id", Integer, ForeignKey("clubs.id"), nullable=False, index=True),
    Column("first_name", String(80)),
    Column("last_name", String(80)),
    Column("email", String(200), index=True),
    Column("phone", String(40)),
    Column("source", String(30)),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("status_changed_at", DateTime, nullable=False),
    Column("converted_member_id", Integer, ForeignKey("members.id"), index=True),
    Column("restricted_at", DateTime),  # Art. 18: since when processing is restricted; NULL: not
)

crm_notes = Table(
    "crm_notes", metadata, _id(),
    Column("lead_id", Integer, ForeignKey("crm_leads.id"), nullable=False, index=True),
    Column("author_staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
)

agreement_types = Table(
    "agreement_types", metadata, _id(),
    Column("code", String(40), nullable=False, unique=True),
    Column("title", String(120), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("current_version", Integer, nullable=False),
)

consents = Table(
    "consents", metadata, _id(), _member_fk(nullable=True),
    Column("lead_id", Integer, ForeignKey("crm_leads.id"), index=True),
    Column("agreement_type_id", Integer, ForeignKey("agreement_types.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("granted_at", DateTime, nullable=False),
    Column("withdrawn_at", DateTime),
)

staff_notes = Table(
    "staff_notes", metadata, _id(), _member_fk(),
    Column("author_staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
)

body_measurements = Table(
    "body_measurements", metadata, _id(), _member_fk(),
    Column("measured_at", DateTime, nullable=False),
    Column("weight_kg", Numeric(5, 1)),
    Column("body_fat_pct", Numeric(4, 1)),
    Column("resting_heart_rate", Integer),
)

integration_links = Table(
    "integration_links", metadata, _id(), _member_fk(),
    Column("provider", String(30), nullable=False),
    Column("external_id", String(60), nullable=False),
    Column("linked_at", DateTime, nullable=False),
    Column("active", Boolean, nullable=False),
)

member_change_log = Table(
    "member_change_log", metadata, _id(), _member_fk(),
    Column("at", DateTime, nullable=False),
    Column("action", String(10), nullable=False),  # CREATE / EDIT / VIEW
    Column("field_name", String(60)),
    Column("actor", String(80), nullable=False),
)
