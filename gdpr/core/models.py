"""The bot's own state: requests, decisions, the audit chain, job leases."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# Lifecycle of a subject request (issue 2, item 4).
RECEIVED = "received"
AWAITING_APPROVAL = "awaiting_approval"
APPROVED = "approved"
REJECTED = "rejected"
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
REFUSED = "refused"  # Art. 12(5): manifestly unfounded or excessive; the club gets a notice with the remedies
CLOSED = "closed"  # the club left (offboarding): it answers its members itself, from the data returned to it
TERMINAL = (REJECTED, DONE, FAILED, REFUSED, CLOSED)
UNANSWERED = (RECEIVED, AWAITING_APPROVAL, APPROVED, QUEUED, RUNNING)  # the month's clock runs
DECIDABLE = (RECEIVED, AWAITING_APPROVAL)  # received: its approval card is being posted


class SubjectRequest(Base):
    __tablename__ = "subject_requests"
    __table_args__ = (Index("ix_requests_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(24), index=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(64))  # internal key in the system DB
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)  # keyed pseudonym
    club_id: Mapped[str | None] = mapped_column(String(64))
    # Set while the request is open, NULL once terminal: one open request per kind and subject.
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[dt.date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    export_name: Mapped[str | None] = mapped_column(String(120))  # the archive, recorded before its passphrase goes
    passphrase_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # once, ever
    file_id: Mapped[str | None] = mapped_column(String(64))
    # Why the archive must go (TTL, erasure) and when it went from the server and the thread
    export_delete_reason: Mapped[str | None] = mapped_column(String(60))
    export_deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    preview: Mapped[dict | None] = mapped_column(JSON)  # erasure: what the DPO approved (no PII)
    # Art. 12(3): the month runs from the club's receipt (given on the command; default: when typed in)
    club_received_on: Mapped[dt.date | None] = mapped_column(Date)
    original_due_on: Mapped[dt.date | None] = mapped_column(Date)  # set when extended
    extended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    extension_reason: Mapped[str | None] = mapped_column(Text)  # what the club must pass on to the person
    # Once ended: the signed certificate for the club (gdpr/requests/certificates.py), and when its thread had it
    certificate: Mapped[dict | None] = mapped_column(JSON)
    certificate_shown_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    instruction: Mapped[str | None] = mapped_column(Text)  # a rectification's values, sealed, until it is applied


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_requests.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO text, hashed verbatim
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed verbatim
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Deployment(Base):
    """One row: this deployment's random key, which marks the folders its processes write."""

    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32))


class AuditHead(Base):
    """A single row that serialises appends to the chain (its row lock is the chain's lock)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


NOTIFYING = "notifying"  # erasure done; waiting for every recipient (Art. 19)

# Erasure notices (Art. 19) - an outbox, one row per request and recipient.
NOTICE_WAITING = "waiting"      # written before the erasure; not sendable until it committed
NOTICE_PENDING = "pending"
NOTICE_SENDING = "sending"
NOTICE_RETRYING = "retrying"
NOTICE_SENT = "sent"
NOTICE_FAILED = "failed"
NOTICE_IMPOSSIBLE = "impossible"  # the DPO recorded why this recipient cannot be told
NOTICE_SETTLED = (NOTICE_SENT, NOTICE_IMPOSSIBLE)


class Notice(Base):
    __tablename__ = "erasure_notices"
    __table_args__ = (UniqueConstraint("request_id", "recipient"),
                      UniqueConstraint("run_id", "subject_key", "recipient", name="uq_notice_run_subject"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A notice belongs to an erasure request, or to a bulk run and one of its subjects (internal key only)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("subject_requests.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_runs.id", name="fk_notice_run"), index=True)
    subject_key: Mapped[str | None] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), index=True)
    external_ref: Mapped[str | None] = mapped_column(Text)  # encrypted; cleared once delivered
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(32))


ERASURE_CHANGE, WITHDRAWAL_CHANGE = "erasure", "withdrawal"  # an objection to marketing is a withdrawal
OBJECTION_CHANGE = "objection"  # an upheld objection to processing on legitimate interests (Art. 21(1))
RESTRICTION_CHANGE = "restriction"  # processing restricted (Art. 18(1)) or the restriction lifted (Art. 18(3))
RECTIFICATION_CHANGE = "rectification"  # data corrected on the club's instruction (Art. 16)


class LedgerEntry(Base):
    """Every change the bot makes to the platform's data (an erasure, a withdrawal or objection), so it can be
    re-applied after a restore from an older backup (bulk runs are replayed from their own rows). Pseudonymised data
    (Art. 4(5)), kept minimal: internal keys (which a restored database maps back to rows) and a keyed
    hash of the identifiers; no name, email or other identifier in the clear."""

    __tablename__ = "erasure_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict] = mapped_column(JSON)  # as planned just before the erasure; as done once confirmed
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)  # the erasure is known to have committed
    sealed: Mapped[str | None] = mapped_column(Text)  # the identifiers, encrypted, while the job runs
    change: Mapped[str] = mapped_column(String(20), default=ERASURE_CHANGE, server_default=ERASURE_CHANGE)
    detail: Mapped[dict | None] = mapped_column(JSON)  # a withdrawal: {"codes": [...]}: what replay re-applies
    corrected: Mapped[str | None] = mapped_column(Text)  # a rectification: the corrected values, sealed, for replay
    # shared proofs (gdpr/erasure/proofs.py): waiting since, claimed by whom until when, the result
    proof_wanted: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    prover: Mapped[str | None] = mapped_column(String(64))
    proving_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    proof: Mapped[dict | None] = mapped_column(JSON)  # {"hits": [[table, column, rows]], "namesakes": n}


# Bulk runs (issue 4): a CRM purge or one slot of a retention policy, approved, batched, checkpointed.
class BulkRun(Base):
    __tablename__ = "bulk_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # crm_purge | retention | offboard
    policy: Mapped[str] = mapped_column(String(64))
    slot_key: Mapped[str | None] = mapped_column(String(120), unique=True)  # (policy, time slot): runs once
    spec: Mapped[dict] = mapped_column(JSON)  # what to match and do (no personal data)
    as_of: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # ages are measured from here
    status: Mapped[str] = mapped_column(String(24), index=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    preview: Mapped[dict | None] = mapped_column(JSON)
    needs_approval: Mapped[str | None] = mapped_column(Text)  # why the DPO must approve (None: auto-run)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    last_key: Mapped[str | None] = mapped_column(String(64))  # checkpoint: keys up to here are processed
    # two databases: the batch about to commit in the system DB ({last_key, rows, counts}), booked after it did
    pending: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    counts: Mapped[dict | None] = mapped_column(JSON)
    residue: Mapped[int | None] = mapped_column(Integer)
    # offboarding: the export returned to the club (file, rows, sha256) and the signed completion statement
    artifacts: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    error: Mapped[str | None] = mapped_column(Text)


class RetentionSchedule(Base):
    """Per policy, the last time slot the scheduler handled: a restart resumes from here."""

    __tablename__ = "retention_schedules"

    policy: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_slot: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SchedulerLease(Base):
    """Only the scheduler holding this row's lease acts; a second one waits as a standby."""

    __tablename__ = "scheduler_lease"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# Personal-data breaches (issue 5): the Art. 33(5) register, its timeline, notices and reminders.
BREACH_OPEN = "open"
BREACH_CLOSED = "closed"


class Breach(Base):
    __tablename__ = "breaches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reported_by: Mapped[str] = mapped_column(String(32))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    aware_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    kinds: Mapped[list] = mapped_column(JSON)  # confidentiality | integrity | availability
    description: Mapped[str] = mapped_column(Text)
    data_categories: Mapped[list] = mapped_column(JSON)
    subject_categories: Mapped[list] = mapped_column(JSON)
    approx_people: Mapped[int] = mapped_column(Integer)
    approx_records: Mapped[int] = mapped_column(Integer)
    clubs: Mapped[list] = mapped_column(JSON)  # club keys
    consequences: Mapped[str] = mapped_column(Text)
    measures: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(16), default="unassessed")  # unassessed | not_high | high
    notify_reasoning: Mapped[str | None] = mapped_column(Text)
    members_decision: Mapped[str | None] = mapped_column(String(16))  # notify | exempt | uninstructed
    members_reasoning: Mapped[str | None] = mapped_column(Text)
    delay_reason: Mapped[str | None] = mapped_column(Text)
    remedial_actions: Mapped[str | None] = mapped_column(Text)
    decision_reasoning: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[int] = mapped_column(Integer, default=0)  # notices sent to clubs so far: 1 initial, 2.. updates
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(32))
    members_total: Mapped[int] = mapped_column(Integer, default=0)
    members_done: Mapped[int] = mapped_column(Integer, default=0)
    members_last_key: Mapped[str | None] = mapped_column(String(64))
    members_status: Mapped[str | None] = mapped_column(String(16))  # previewed | queued | running | done
    # Art. 34: the clubs (controllers) that instructed us to tell their members, and whom the DPO named
    members_instructed: Mapped[list | None] = mapped_column(JSON)  # club keys
    members_target: Mapped[dict | None] = mapped_column(JSON)  # breach_targets.MemberTarget
    members_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # stalled job: re-sent


class BreachEvent(Base):
    """The breach's timeline: every step, who and when."""

    __tablename__ = "breach_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)


class BreachNotice(Base):
    """One notice to one club in one phase: an outbox row, sent once (unique), retried until sent."""

    __tablename__ = "breach_notices"
    __table_args__ = (UniqueConstraint("breach_id", "club_id", "phase"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    club_id: Mapped[str] = mapped_column(String(64))
    phase: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | sending | retrying | sent | no_contact
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    late_reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(250))  # the mail's Message-ID, once sent (the breach file)


class BreachReminder(Base):
    __tablename__ = "breach_reminders"
    __table_args__ = (UniqueConstraint("breach_id", "mark_hours"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    mark_hours: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | fired | settled
    fired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    times_fired: Mapped[int] = mapped_column(Integer, default=0)


class BreachMemberNotice(Base):
    """Art. 34: one row per member told, so a resumed job never mails a member twice."""

    __tablename__ = "breach_member_notices"
    __table_args__ = (UniqueConstraint("breach_id", "member_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    member_key: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ShownMessage(Base):
    """Where the presenter showed something (for Slack: a message's channel and ts), by the thing's
    reference and the message's role. The presenter's own table: the domain never reads it."""

    __tablename__ = "shown_messages"
    __table_args__ = (UniqueConstraint("ref", "role", name="uq_shown_ref_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    stale_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


# Temporary support access (just-in-time): one user sees one subject unmasked, for a while.
EXPIRED = "expired"
REVOKED = "revoked"
GRANT_DECIDABLE = (RECEIVED, AWAITING_APPROVAL)


class AccessGrant(Base):
    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    requester_id: Mapped[str] = mapped_column(String(32), index=True)  # who will see the subject
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(64))
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)  # keyed pseudonym
    club_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)  # the investigation, as staff typed it
    minutes: Mapped[int] = mapped_column(Integer)  # asked for, within the role's cap
    # one pending request per user and subject; NULL once decided
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    asked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(String(32))  # the revoker; NULL when it expired
    end_reason: Mapped[str | None] = mapped_column(Text)
    end_told_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # requester and approver told


class RequestReminder(Base):
    """The DPO reminded of a request's deadline, before and after it (the breach clock's mechanism)."""
    __tablename__ = "request_reminders"
    __table_args__ = (UniqueConstraint("request_id", "round", "days_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_requests.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)  # 1: the month; 2: after an extension
    days_before: Mapped[int] = mapped_column(Integer)  # negative: overdue by that many days
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | fired | settled
    fired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    times_fired: Mapped[int] = mapped_column(Integer, default=0)


class ClubToken(Base):
    """A club's API credential: only its keyed hash is stored; the token itself was shown once."""
    __tablename__ = "club_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    club_code: Mapped[str] = mapped_column(String(64), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))  # the token's first characters after its prefix, to tell them apart
    allowed_ips: Mapped[list | None] = mapped_column(JSON)  # networks; NULL: any address
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(32))


class DownloadLink(Base):
    """An expiring, single-use link to a finished export, for the club that asked through the API."""
    __tablename__ = "download_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_requests.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[str] = mapped_column(Text)  # the link, encrypted: shown to the club while live
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    refused: Mapped[int] = mapped_column(Integer, default=0)  # attempts after it was used, expired or revoked
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_why: Mapped[str | None] = mapped_column(String(60))
    # a transfer under way: the link is spent when its last byte is sent; a dropped one frees it again, a
    # process killed mid-transfer frees it when this passes
    sending_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SeenSlackRequest(Base):
    """A signed Slack request already acted on (its timestamp and signature, hashed), for Slack's 5-minute
    window: in the state DB, so no Redis outage, restart or second replica lets a replay through."""
    __tablename__ = "slack_requests_seen"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class ApiRefusal(Base):
    """A clubs' API call refused before any club was known (no or a bad token, rate-limited address): kept
    apart from the audit chain so junk never serialises on its head; the address only as a keyed hash."""
    __tablename__ = "api_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    address_ref: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer)


class RopaVersion(Base):
    """A version of the processor's record of processing activities (Art. 30(2)) and what changed in it."""
    __tablename__ = "ropa_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    digest: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(Text)  # canonical JSON
    changes: Mapped[str] = mapped_column(Text)  # JSON list of what changed since the previous version
