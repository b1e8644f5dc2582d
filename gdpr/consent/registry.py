"""Consent in the platform's own records (Art. 7): a subject's agreements, withdrawing them (Art. 7(3))
or objecting (Art. 21) - which stops what rested on them - and the check that data goes to an
integration only for members who signed its agreement. Driven by the data map's `consent` section."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Boolean, DateTime, Engine, TableClause, and_, column, exists, func, select, table, update

from gdpr.core.datamap import DataMap
from gdpr.core.errors import UsageError
from gdpr.core.scope import subject_rows


@dataclass(frozen=True)
class Agreement:
    code: str
    title: str
    purpose: str
    version: int
    current_version: int
    channel: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None


@dataclass(frozen=True)
class Withdrawal:
    codes: list[str]  # the agreements withdrawn now
    links: list[tuple[str, str]]  # (provider, external id) of the integration links disabled now


@dataclass(frozen=True)
class ConsentViolations:
    total: int
    samples: list[tuple[str, str]]  # (subject key, provider): internal keys only


class ConsentRegistry:
    def __init__(self, engine: Engine, writer: Engine, datamap: DataMap) -> None:
        if datamap.consent is None:
            raise UsageError("The data map has no `consent` section: consent cannot be read or withdrawn.")
        self.engine, self.writer, self.map, self.spec = engine, writer, datamap, datamap.consent

    def _tables(self) -> tuple[TableClause, TableClause]:
        c, t = self.spec, self.spec.types
        consents = table(c.table, column("id"), column(c.agreement), column(c.version), column(c.channel),
                         column(c.granted_at, DateTime), column(c.withdrawn_at, DateTime))
        types = table(t["table"], column(t["key"]), column(t["code"]), column(t["title"]), column(t["purpose"]),
                      column(t["current_version"]))
        return consents, types

    def agreements(self, kind: str, key: str) -> list[Agreement]:
        """The subject's agreements (those of a lead that became them too), newest first."""
        c, t = self.spec, self.spec.types
        consents, types = self._tables()
        mine = subject_rows(self.map, self.map.tables[c.table], kind, key, self.engine.dialect.name)
        query = (select(types.c[t["code"]], types.c[t["title"]], types.c[t["purpose"]], consents.c[c.version],
                        types.c[t["current_version"]], consents.c[c.channel], consents.c[c.granted_at],
                        consents.c[c.withdrawn_at])
                 .select_from(consents.join(types, types.c[t["key"]] == consents.c[c.agreement]))
                 .where(mine).order_by(consents.c[c.granted_at].desc()))
        with self.engine.connect() as conn:
            return [Agreement(*row) for row in conn.execute(query)]

    def codes_for(self, what: str) -> list[str]:
        """An agreement code, or a purpose (`marketing`, `profiling`) standing for all its agreements; only
        what rests on consent can be withdrawn."""
        t = self.spec.types
        _, types = self._tables()
        with self.engine.connect() as conn:
            rows = conn.execute(select(types.c[t["code"]], types.c[t["purpose"]])).all()
        chosen = [code for code, purpose in rows if what in (code, purpose)]
        if not chosen:
            known = ", ".join(sorted({p for _, p in rows if p in self.spec.withdrawable} |
                                     {c for c, p in rows if p in self.spec.withdrawable}))
            raise UsageError(f"`{what[:30]}` is no agreement or purpose. One of: {known}.")
        if any(purpose not in self.spec.withdrawable for code, purpose in rows if code in chosen):
            raise UsageError(f"`{what[:30]}` does not rest on consent (it is needed for the contract or to inform): "
                             "it cannot be withdrawn, only the membership ended or the data erased.")
        return sorted(chosen)

    def objected(self, what: str) -> list[str]:
        """An objection (Art. 21) to `what`: its agreements, and where it is direct marketing, profiling too -
        an objection to direct marketing stops the profiling done for it (Art. 21(2)-(3))."""
        codes = self.codes_for(what)
        t = self.spec.types
        _, types = self._tables()
        with self.engine.connect() as conn:
            purposes = dict(conn.execute(select(types.c[t["code"]], types.c[t["purpose"]])).all())
        if any(purposes.get(code) == "marketing" for code in codes):
            codes += [code for code, purpose in purposes.items() if purpose == "profiling"]
        return sorted(set(codes))

    def withdraw(self, kind: str, key: str, codes: list[str], now: dt.datetime) -> Withdrawal:
        """One transaction: the agreements in force get their withdrawal date; an integration's agreement
        disables that integration's links of this subject. Withdrawing again changes nothing."""
        c, t = self.spec, self.spec.types
        consents, types = self._tables()
        spec = self.map.tables[c.table]
        type_ids = select(types.c[t["key"]]).where(types.c[t["code"]].in_(codes)).scalar_subquery()
        in_force = and_(subject_rows(self.map, spec, kind, key, self.writer.dialect.name),
                        consents.c[c.agreement].in_(type_ids), consents.c[c.withdrawn_at].is_(None))
        links, provider, external = self._links()
        providers = [code for code in codes if code in self.map.recipients]
        linked = and_(subject_rows(self.map, self.map.tables[c.links_table], kind, key, self.writer.dialect.name),
                      links.c[provider].in_(providers), links.c[c.links_active] == True)  # noqa: E712
        with self.writer.begin() as conn:
            withdrawn = sorted({code for (code,) in conn.execute(
                select(types.c[t["code"]]).select_from(consents.join(types, types.c[t["key"]] == consents.c[c.agreement]))
                .where(in_force))})
            conn.execute(update(consents).where(in_force).values({c.withdrawn_at: now.replace(tzinfo=None)}))
            disabled = [(p, str(x)) for p, x in conn.execute(select(links.c[provider], links.c[external]).where(linked))]
            conn.execute(update(links).where(linked).values({self.spec.links_active: False}))
        return Withdrawal(withdrawn, disabled)

    def active_links(self, kind: str, key: str, codes: list[str]) -> list[tuple[str, str]]:
        """(provider, external id) of the subject's active links to the integrations these agreements permit."""
        c = self.spec
        links, provider, external = self._links()
        providers = [code for code in codes if code in self.map.recipients]
        linked = and_(subject_rows(self.map, self.map.tables[c.links_table], kind, key, self.engine.dialect.name),
                      links.c[provider].in_(providers), links.c[c.links_active] == True)  # noqa: E712
        with self.engine.connect() as conn:
            return [(p, str(x)) for p, x in conn.execute(select(links.c[provider], links.c[external]).where(linked))]

    def _links(self) -> tuple[TableClause, str, str]:
        """The integration links table, its provider column and its external id column."""
        spec = self.map.tables[self.spec.links_table]
        rec = spec.recipients or {}
        tbl = table(spec.name, column(rec["provider"]), column(rec["external_id"]), column(self.spec.links_active, Boolean),
                    *[column(col) for col in spec.links.values()])
        return tbl, rec["provider"], rec["external_id"]

    def violations(self, *, sample: int = 10) -> ConsentViolations:
        """Active integration links whose subject has no agreement in force for that integration."""
        c, t = self.spec, self.spec.types
        consents, types = self._tables()
        link_spec = self.map.tables[c.links_table]
        rec = link_spec.recipients or {}
        member_col = next(iter(link_spec.links.values()))
        consent_link = self.map.tables[c.table].links[next(iter(link_spec.links))]
        links = table(link_spec.name, column(rec["provider"]), column(member_col), column(c.links_active, Boolean))
        signed = exists(select(1).select_from(consents.join(types, types.c[t["key"]] == consents.c[c.agreement]))
                        .where(column(consent_link, _selectable=consents) == links.c[member_col],
                               types.c[t["code"]] == links.c[rec["provider"]], consents.c[c.withdrawn_at].is_(None)))
        bad = and_(links.c[c.links_active] == True, ~signed)  # noqa: E712
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(links).where(bad)).scalar_one()
            rows = conn.execute(select(links.c[member_col], links.c[rec["provider"]]).where(bad)
                                .order_by(links.c[member_col]).limit(sample)).all()
        return ConsentViolations(total, [(str(k), str(p)) for k, p in rows])
