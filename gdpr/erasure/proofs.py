"""Shared proofs: erasures that reach their residue proof close together are proven by one pass.

An erasure job that has committed its erasure asks for its proof on its ledger row (`proof_wanted`, its
identifiers sealed there already). Whoever asks next claims every erasure waiting and not being proven
(a conditional UPDATE with a lease, as the leased jobs do), proves them all with one shared pass
(`residue_checks`: one read of each table for all their identifiers, each hit attributed to its
subject) and writes each erasure's own result on its row. A job whose erasure another worker is proving
waits for that result - woken at once in this process, looking again every `poll` seconds across
processes - and claims it itself if that prover's lease ends first (it died; a live prover renews it).
The rows hold table and column names and counts, never a value; the sealed identifiers go when the job
ends, as before. The claim is a batch of rows under one token, which the leased-job lifecycle (one item
by id, with a status and attempts) does not model; its lease is the same idea, written here once.
"""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import MultiFernet
from sqlalchemy import Engine, null, or_, select, text, update

from gdpr.core import models as m
from gdpr.core.datamap import DataMap
from gdpr.core.db import Database, changed
from gdpr.erasure.engine import ErasureEngine, Identifiers
from gdpr.erasure.residue import Hit, Residue, Sought, residue_checks
from gdpr.requests.jobs import heartbeat

CLAIM_LOCK = 0x67647072  # PostgreSQL advisory lock: one claim at a time, across processes
Check = Callable[[Engine, DataMap, ErasureEngine, list[Sought]], list[Residue]]


@dataclass
class ProofGroup:
    """One per process: its waiters are woken when a pass of this process ends."""
    db: Database  # the state database (ledger rows)
    system: Engine  # the platform's database, searched
    datamap: DataMap
    engine: ErasureEngine
    box: MultiFernet  # the ledger's sealer of identifiers
    clock: Callable[[], dt.datetime]
    lease: dt.timedelta  # how long a claim holds before another worker may prove those erasures
    poll: float = 0.1  # seconds between two looks at a pass another process runs
    batch: int = 1000  # erasures proven by one pass at most
    check: Check = residue_checks
    passes: int = 0  # shared passes run by this process (measured by the benchmark)
    _proving: int = 0  # passes of this process under way: its waiters need not poll the database
    _woken: threading.Condition = field(default_factory=threading.Condition)

    def prove(self, *, request_id: int, identifiers: Identifiers, still_mine: Callable[[], None]) -> Residue:
        """This erasure's proof, from the next shared pass that includes it (run here or elsewhere)."""
        self._ask(request_id, identifiers)
        while True:
            still_mine()  # the job's own lease: raises when another worker has taken the request over
            token = self._claim()
            if token is not None:
                self._prove(token)
            found = self._result(request_id)
            if found is not None:
                return found
            with self._woken:  # a pass of this process wakes its waiters when it ends; another's is polled
                self._woken.wait(self.lease.total_seconds() if self._proving else self.poll)

    def _ask(self, request_id: int, identifiers: Identifiers) -> None:
        """Wanted now; any earlier result or claim (an attempt that died) is void."""
        with self.db.session() as s:
            s.execute(update(m.LedgerEntry).where(m.LedgerEntry.request_id == request_id)
                      .values(proof_wanted=self.clock(), proof=null(), prover=None, proving_until=None,
                              sealed=identifiers.seal(self.box)))

    def _claim(self) -> str | None:
        """While no pass runs, claim the erasures waiting (at most `batch`, longest waiting first); the
        claim's token, or None. One pass at a time is what makes the next one shared: the erasures that
        reach their proof while a pass runs wait for it to end, and are then claimed together."""
        e, now, token = m.LedgerEntry, self.clock(), uuid.uuid4().hex
        live = e.prover.is_not(None) & (e.proving_until >= now) & e.proof.is_(None)
        with self.db.session() as s:
            if s.get_bind().dialect.name == "postgresql":  # the check and the claim as one (SQLite: IMMEDIATE)
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})
            if s.execute(select(e.id).where(live).limit(1)).first() is not None:
                return None
            waiting = (select(e.id).where(e.proof_wanted.is_not(None), e.proof.is_(None), e.sealed.is_not(None),
                                          or_(e.prover.is_(None), e.proving_until < now))
                       .order_by(e.proof_wanted, e.id).limit(self.batch))
            claimed = s.execute(update(e).where(e.id.in_(waiting.scalar_subquery()), or_(e.prover.is_(None),
                                                                                      e.proving_until < now))
                                .values(prover=token, proving_until=now + self.lease))
            return token if changed(claimed) else None

    def _prove(self, token: str) -> None:
        e = m.LedgerEntry
        with self.db.session() as s:
            rows = s.execute(select(e.request_id, e.subject_type, e.subject_key, e.sealed)
                             .where(e.prover == token, e.proof.is_(None))).all()
        sought = [Sought(kind, key, Identifiers.unseal(self.box, sealed or "")) for _, kind, key, sealed in rows]
        with self._woken:
            self._proving += 1
        try:
            with heartbeat(lambda: self._renew(token), interval=self.lease / 3, name="proof"):  # a pass may be long
                results = self.check(self.system, self.datamap, self.engine, sought)
            self.passes += 1
            with self.db.session() as s:
                for (request_id, *_), residue in zip(rows, results, strict=True):
                    s.execute(update(e).where(e.request_id == request_id, e.prover == token)
                              .values(proof={"hits": [[h.table, h.column, h.rows] for h in residue.hits],
                                             "namesakes": residue.namesakes}))
        finally:
            with self._woken:
                self._proving -= 1
                self._woken.notify_all()

    def _renew(self, token: str) -> bool:
        """Extend the claim; False once another worker took its erasures over (its writes are refused then)."""
        e = m.LedgerEntry
        with self.db.session() as s:
            return changed(s.execute(update(e).where(e.prover == token)
                                     .values(proving_until=self.clock() + self.lease))) > 0

    def _result(self, request_id: int) -> Residue | None:
        with self.db.session() as s:
            proof = s.execute(select(m.LedgerEntry.proof).where(m.LedgerEntry.request_id == request_id)).scalar()
        if proof is None:
            return None
        return Residue(hits=[Hit(t, c, int(n)) for t, c, n in proof["hits"]], namesakes=int(proof["namesakes"]))
