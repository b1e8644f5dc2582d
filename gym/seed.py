"""`gdpr-bot seed`: fill the reference gym deterministically with synthetic (Faker) data.

Hard cases on purpose: families sharing one email, minors with a guardian, members without
email, namesakes, leads converted to members, ended members, notes that quote a phone number.
Rows are generated in chunks and written with COPY (PostgreSQL) or executemany (SQLite).
"""
from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from faker import Faker
from sqlalchemy import Connection, Engine, Table, text

from gym import schema as s

CLUBS = [
    ("antwerp-north", "Antwerp North Fitness", "BE", "Ilse Janssens", "privacy@antwerp-north.example"),
    ("ghent-centre", "Ghent Centre Gym", "BE", "Tom De Smet", "dpo@ghent-centre.example"),
    ("brussels-south", "Brussels South Sports", "BE", "Claire Dubois", "gdpr@brussels-south.example"),
    ("leuven", "Leuven Health Club", "BE", "Pieter Claes", "privacy@leuven-hc.example"),
    ("bruges", "Bruges Wellness", "BE", None, None),  # no GDPR contact: a case for breach notices
]
AGREEMENTS = [
    ("terms", "General terms and conditions", "contract"),
    ("privacy", "Privacy notice", "information"),
    ("newsletter", "Newsletter by email", "marketing"),
    ("phone_marketing", "Marketing by phone", "marketing"),
    ("profiling", "Personalised offers (profiling)", "profiling"),
    ("virtuagym", "Share training data with Virtuagym", "integration"),
    ("milon", "Share training data with Milon", "integration"),
    ("clubplanner", "Share data with Clubplanner", "integration"),
    ("technogym", "Share data with Technogym MyWellness", "integration"),
]
PROVIDERS = ["virtuagym", "milon", "clubplanner", "technogym"]
PLANS = [("basic", 24.99), ("premium", 39.99), ("student", 19.99), ("family", 59.99), ("off-peak", 17.50)]
CLASSES = ["Spinning", "Yoga", "Body Pump", "Pilates", "HIIT", "Zumba", "Aqua fit"]
ITEMS = [("Protein shake", 3.50), ("Water", 1.50), ("Towel rental", 2.00), ("Energy bar", 2.50), ("Day pass", 12.0)]
NOTE_TEMPLATES = [
    "Called member on {phone} about the overdue invoice.",
    "Asked to freeze the membership for two months (travel).",
    "Member prefers to be reached on {phone} after 18:00.",
    "Knee injury mentioned, advised to see the physiotherapist.",
    "Complained about the changing rooms, handed to {staff}.",
]
LEAD_NOTES = [
    "Called back on {phone}, not interested for now.",
    "Came for a trial session, found the price too high.",
    "Prefers to be called on {phone} in the evening.",
    "Asked for the family plan brochure.",
]
TODAY = dt.date(2026, 11, 1)  # fixed, so a seed is the same data whatever the day


@dataclass
class Pools:
    first: list[str]
    last: list[str]
    streets: list[str]
    cities: list[tuple[str, str]]

    @classmethod
    @functools.cache  # 4,100 Faker calls a build; the pools are only read (a process seeds many databases)
    def build(cls, seed: int) -> Pools:
        fake = Faker("nl_BE")
        fake.seed_instance(seed)
        return cls(first=sorted({fake.first_name() for _ in range(1500)}),
                   last=sorted({fake.last_name() for _ in range(1500)}),
                   streets=sorted({fake.street_name() for _ in range(800)}),
                   cities=sorted({(fake.postcode(), fake.city()) for _ in range(300)}))


@dataclass
class Batch:
    rows: dict[str, list[tuple]] = field(default_factory=dict)

    def add(self, table: Table, row: tuple) -> None:
        self.rows.setdefault(table.name, []).append(row)


class Seeder:
    """Generates members and everything hanging off them, chunk by chunk."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pools = Pools.build(seed)
        self.ids: dict[str, int] = {}

    def next_id(self, table: Table) -> int:
        self.ids[table.name] = self.ids.get(table.name, 0) + 1
        return self.ids[table.name]

    def phone(self) -> str:
        r = self.rng
        return f"+32 4{r.randint(60, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"

    def ts(self, start: dt.date, end: dt.date) -> dt.datetime:
        days = max((end - start).days, 1)
        day = start + dt.timedelta(days=self.rng.randrange(days))
        return dt.datetime.combine(day, dt.time(self.rng.randint(6, 21), self.rng.randint(0, 59)))

    def member(self, batch: Batch, number: int, club_id: int, adults: list[int]) -> tuple:
        r, p = self.rng, self.pools
        mid = self.next_id(s.members)
        first, last = r.choice(p.first), r.choice(p.last)
        if r.random() < 0.02 and adults:  # namesake: copy an earlier member's name later on
            first, last = self.namesake or (first, last)
        self.namesake = (first, last)
        minor = r.random() < 0.06 and adults
        birth = TODAY - dt.timedelta(days=r.randint(10 * 365, 17 * 365) if minor else r.randint(18 * 365, 80 * 365))
        email = None if r.random() < 0.03 else f"{first}.{last}{mid}@{r.choice(['gmail.com', 'telenet.be', 'proximus.be', 'outlook.com'])}".lower().replace(" ", "")
        if r.random() < 0.02 and self.family_email:  # family sharing one email
            email, last = self.family_email
        elif email and r.random() < 0.02:
            self.family_email = (email, last)
        joined = TODAY - dt.timedelta(days=r.randint(30, 9 * 365))
        ended = joined + dt.timedelta(days=r.randint(90, 2000)) if r.random() < 0.2 else None
        ended = ended if ended and ended < TODAY else None
        postcode, city = r.choice(p.cities)
        guardian = r.choice(adults) if minor else None
        row = (mid, club_id, f"M{number:07d}", first, last, email, self.phone() if r.random() < 0.95 else None,
               birth, r.choice(["female", "male", "x"]),
               f"{birth:%y.%m.%d}-{r.randint(100, 999)}.{r.randint(10, 99)}",
               f"{r.choice(p.streets)} {r.randint(1, 250)}", postcode, city, "BE",
               f"https://cdn.gym.example/photos/{mid:08x}.jpg" if r.random() < 0.7 else None,
               guardian, "ended" if ended else "active", joined, ended,
               dt.datetime.combine(joined, dt.time(10, 0)))
        batch.add(s.members, row)
        if not minor:
            adults.append(mid)
        self.related(batch, row)
        return row

    def related(self, batch: Batch, m: tuple) -> None:
        r = self.rng
        mid, club_id, joined, ended = m[0], m[1], m[17], m[18]
        first, last, phone = m[3], m[4], m[6]
        until = ended or TODAY
        if r.random() < 0.6:
            batch.add(s.emergency_contacts, (self.next_id(s.emergency_contacts), mid,
                      f"{r.choice(self.pools.first)} {last}", self.phone(), r.choice(["partner", "parent", "sibling"])))
        if r.random() < 0.8:
            batch.add(s.bank_accounts, (self.next_id(s.bank_accounts), mid, f"BE{r.randint(10, 99)}{r.randint(10**11, 10**12 - 1)}",
                      "GEBABEBB", f"{first} {last}", f"MANDATE-{mid:08d}", joined))
        for _ in range(r.randint(1, 2)):
            batch.add(s.access_credentials, (self.next_id(s.access_credentials), mid, r.choice(["card", "rfid"]),
                      f"RF{r.getrandbits(40):010X}", joined, None))
        for _ in range(r.randint(1, 2)):
            plan, fee = r.choice(PLANS)
            batch.add(s.contracts, (self.next_id(s.contracts), mid, club_id, plan, joined, ended, fee))
        for _ in range(r.randint(0, 30)):
            t = self.ts(joined, until)
            batch.add(s.visits, (self.next_id(s.visits), mid, club_id, t, t + dt.timedelta(minutes=r.randint(30, 120))))
        for _ in range(r.randint(1, 6)):
            inv = self.next_id(s.invoices)
            issued = self.ts(joined, until).date()
            total = round(r.uniform(17, 60), 2)
            batch.add(s.invoices, (inv, mid, club_id, f"INV-{inv:08d}", issued, f"{first} {last}", f"{m[10]}, {m[11]} {m[12]}", total))
            batch.add(s.payments, (self.next_id(s.payments), mid, inv, dt.datetime.combine(issued, dt.time(12)), total,
                      r.choice(["sepa", "card", "cash"])))
        for _ in range(r.randint(0, 4)):
            item, price = r.choice(ITEMS)
            batch.add(s.pos_sales, (self.next_id(s.pos_sales), mid, club_id, self.ts(joined, until), item, price))
        for _ in range(r.randint(0, 6)):
            batch.add(s.class_bookings, (self.next_id(s.class_bookings), mid, club_id, r.choice(CLASSES),
                      self.ts(joined, until), r.choice(["booked", "attended", "cancelled", "no-show"])))
        live = self.consents(batch, mid, None, joined)
        if r.random() < 0.3:
            staff_id = r.randint(1, 4 * len(CLUBS))
            note = r.choice(NOTE_TEMPLATES).format(phone=phone or "the front desk", staff=f"staff #{staff_id}")
            batch.add(s.staff_notes, (self.next_id(s.staff_notes), mid, staff_id, self.ts(joined, until), note))
        for _ in range(r.choice([0, 0, 1, 3])):
            batch.add(s.body_measurements, (self.next_id(s.body_measurements), mid, self.ts(joined, until),
                      round(r.uniform(45, 120), 1), round(r.uniform(8, 40), 1), r.randint(48, 90)))
        for provider in r.sample(PROVIDERS, r.choice([0, 0, 1, 2])):
            external = f"{provider[:2].upper()}-{r.getrandbits(32):08x}"  # (the random stream in its old order)
            linked = self.ts(joined, until)
            batch.add(s.integration_links, (self.next_id(s.integration_links), mid, provider, external, linked, True))
            type_id = [a[0] for a in AGREEMENTS].index(provider) + 1
            if type_id not in live:  # data goes to an integration only for a member who signed its agreement
                batch.add(s.consents, (self.next_id(s.consents), mid, None, type_id, 1, "app", linked, None))
        created = dt.datetime.combine(joined, dt.time(10, 0))
        batch.add(s.member_change_log, (self.next_id(s.member_change_log), mid, created, "CREATE", None, "system"))
        for _ in range(r.randint(0, 3)):
            batch.add(s.member_change_log, (self.next_id(s.member_change_log), mid, self.ts(joined, until),
                      r.choice(["EDIT", "VIEW"]), r.choice(["phone", "street", "email", None]), f"staff #{r.randint(1, 20)}"))

    def consents(self, batch: Batch, member_id: int | None, lead_id: int | None, since: dt.date) -> set[int]:
        """The subject's agreements; returns the ids of the agreement types still in force."""
        r, live = self.rng, set()
        wanted = [1, 2] + [i for i in range(3, len(AGREEMENTS) + 1) if r.random() < 0.3]
        for type_id in wanted:
            granted = self.ts(since, since + dt.timedelta(days=2))
            withdrawn = self.ts(since + dt.timedelta(days=3), TODAY) if type_id > 2 and r.random() < 0.15 else None
            batch.add(s.consents, (self.next_id(s.consents), member_id, lead_id, type_id, 1,
                      r.choice(["portal", "app", "desk", "web"]), granted, withdrawn))
            if withdrawn is None:
                live.add(type_id)
        return live

    def lead(self, batch: Batch, club_id: int, member: tuple | None) -> None:
        r = self.rng
        lid = self.next_id(s.crm_leads)
        created = self.ts(TODAY - dt.timedelta(days=900), TODAY)
        if member is not None:  # a lead that became this member
            row = (lid, member[1], member[3], member[4], member[5], member[6], "web", "converted", created, created,
                   member[0])
        else:
            first, last = r.choice(self.pools.first), r.choice(self.pools.last)
            status = r.choice(["new", "contacted", "trial", "rejection", "rejection"])
            changed = created + dt.timedelta(days=r.randint(0, 60))
            row = (lid, club_id, first, last, f"{first}.{last}.lead{lid}@example.net".lower().replace(" ", ""),
                   self.phone(), r.choice(["web", "walk-in", "facebook", "referral"]), status, created,
                   min(changed, dt.datetime.combine(TODAY, dt.time())), None)
        batch.add(s.crm_leads, row)
        self.consents(batch, None, lid, created.date())
        if member is None:
            self.lead_notes(batch, lid, club_id, row[5], created)

    def lead_notes(self, batch: Batch, lid: int, club_id: int, phone: str, created: dt.datetime) -> None:
        """Follow-up notes on a prospect; their own generator, so adding them left the rest of the data as it was."""
        r = random.Random(lid)
        for i in range(r.choice([0, 1, 1, 2])):
            body = r.choice(LEAD_NOTES).format(phone=phone)
            batch.add(s.crm_notes, (self.next_id(s.crm_notes), lid, (club_id - 1) * 4 + r.randint(1, 4),
                                    created + dt.timedelta(days=i + 1, hours=r.randint(0, 8)), body))

    def rejected_lead(self, batch: Batch, when: dt.datetime) -> None:
        """A prospect who said no (status rejection since `when`), with consents and notes."""
        r = self.rng
        lid = self.next_id(s.crm_leads)
        club_id = r.randint(1, len(CLUBS))
        first, last = r.choice(self.pools.first), r.choice(self.pools.last)
        created = when - dt.timedelta(days=r.randint(0, 60))
        phone = self.phone()
        batch.add(s.crm_leads, (lid, club_id, first, last, f"{first}.{last}.lead{lid}@example.net".lower().replace(" ", ""),
                                phone, r.choice(["web", "walk-in", "facebook", "referral"]), "rejection", created, when, None))
        self.consents(batch, None, lid, created.date())
        self.lead_notes(batch, lid, club_id, phone, created)

    namesake: tuple[str, str] | None = None
    family_email: tuple[str, str] | None = None


def _driver(conn: Connection) -> Any:
    """The DB-API driver's own connection (psycopg's COPY, sqlite3's executemany): always there when connected."""
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver


def _writer(engine: Engine) -> Callable[[Connection, Table, list[tuple]], None]:
    """Rows name the table's columns in order; columns after a row's last value keep their default (NULL: the
    platform's later columns, such as a restriction's time, which the seed leaves unset)."""
    if engine.dialect.name == "postgresql":
        def copy(conn: Connection, table: Table, rows: list[tuple]) -> None:
            cols = ", ".join(c.name for c in list(table.columns)[:len(rows[0])])
            with _driver(conn).cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
        return copy

    def executemany(conn: Connection, table: Table, rows: list[tuple]) -> None:
        cols = list(table.columns)[:len(rows[0])]
        _driver(conn).executemany(f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) "
                                  f"VALUES ({', '.join('?' for _ in cols)})", rows)
    return executemany


def _flush(engine: Engine, batch: Batch) -> None:
    write = _writer(engine)
    with engine.begin() as conn:
        for table in s.metadata.sorted_tables:
            if batch.rows.get(table.name):
                write(conn, table, batch.rows[table.name])


def reset_schema(engine: Engine) -> None:
    s.metadata.drop_all(engine)
    s.metadata.create_all(engine)


def seed(engine: Engine, *, members: int, seed_value: int = 1, chunk: int = 5000,
         progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Replace the reference gym's data with `members` synthetic members; returns row counts per table."""
    reset_schema(engine)
    gen = Seeder(seed_value)
    head = Batch()
    for i, (code, name, country, contact, email) in enumerate(CLUBS, 1):
        head.add(s.clubs, (i, code, name, country, contact, email))
        for j in range(4):
            head.add(s.staff, (gen.next_id(s.staff), i, f"{gen.rng.choice(gen.pools.first)} ({code})",
                               f"staff{j}@{code}.example", gen.rng.choice(["desk", "coach", "manager"])))
    for i, (code, title, purpose) in enumerate(AGREEMENTS, 1):
        head.add(s.agreement_types, (i, code, title, purpose, 1))
    _flush(engine, head)
    adults: list[int] = []
    for start in range(0, members, chunk):
        batch = Batch()
        for n in range(start, min(start + chunk, members)):
            row = gen.member(batch, n + 1, gen.rng.randint(1, len(CLUBS)), adults)
            if gen.rng.random() < 0.08:
                gen.lead(batch, row[1], row)
            if gen.rng.random() < 0.25:
                gen.lead(batch, gen.rng.randint(1, len(CLUBS)), None)
        _flush(engine, batch)
        if progress:
            progress(min(start + chunk, members))
    _fix_sequences(engine, gen.ids)
    return dict(gen.ids)


def add_rejected_leads(engine: Engine, *, leads: int, seed_value: int = 7, chunk: int = 10_000,
                       days: tuple[int, int] = (31, 6 * 365)) -> int:
    """Append `leads` CRM leads in status rejection (rejected `days` ago), each with consents and notes."""
    gen = Seeder(seed_value)
    with engine.connect() as conn:
        for table in (s.crm_leads, s.consents, s.crm_notes):
            gen.ids[table.name] = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar_one()
    for start in range(0, leads, chunk):
        batch = Batch()
        for _ in range(start, min(start + chunk, leads)):
            ago = gen.rng.randint(*days)
            gen.rejected_lead(batch, dt.datetime.combine(TODAY - dt.timedelta(days=ago), dt.time(gen.rng.randint(8, 20))))
        _flush(engine, batch)
    _fix_sequences(engine, gen.ids)
    return leads


def add_club(engine: Engine, *, code: str, members: int, seed_value: int = 23, chunk: int = 5000) -> int:
    """Append one club with `members` members (their history, the leads some came from) and leads of its
    own, after what is there; returns the club's id. For offboarding a club of a realistic size."""
    gen = Seeder(seed_value)
    with engine.connect() as conn:
        for table in s.metadata.sorted_tables:
            if "id" in table.c:
                gen.ids[table.name] = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar_one()
    head = Batch()
    club_id = gen.next_id(s.clubs)
    head.add(s.clubs, (club_id, code, f"Club {code}", "BE", "Club contact", f"privacy@{code}.example"))
    for j in range(1, 5):  # the generator picks a club's staff as (club - 1) * 4 + 1..4
        head.add(s.staff, ((club_id - 1) * 4 + j, club_id, f"Staff {j} ({code})", f"staff{j}@{code}.example", "desk"))
    gen.ids[s.staff.name] = max(gen.ids.get(s.staff.name, 0), (club_id - 1) * 4 + 4)
    _flush(engine, head)
    adults: list[int] = []
    first_number = gen.ids.get(s.members.name, 0) + 1
    for start in range(0, members, chunk):
        batch = Batch()
        for n in range(start, min(start + chunk, members)):
            row = gen.member(batch, first_number + n, club_id, adults)
            if gen.rng.random() < 0.08:
                gen.lead(batch, club_id, row)
            if gen.rng.random() < 0.25:
                gen.lead(batch, club_id, None)
        _flush(engine, batch)
    _fix_sequences(engine, gen.ids)
    return club_id


def _fix_sequences(engine: Engine, ids: dict[str, int]) -> None:
    """PostgreSQL: sequences past the loaded ids, and fresh planner statistics (autovacuum would get
    there later; a bulk load followed at once by queries would otherwise be planned on empty stats)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in s.metadata.sorted_tables:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"))
            conn.execute(text(f"ANALYZE {table.name}"))


def add_rows(engine: Engine, table: Table, rows: Iterable[tuple]) -> None:
    """Bulk-append rows (used by tests and benchmarks to grow one member's history)."""
    write = _writer(engine)
    with engine.begin() as conn:
        write(conn, table, list(rows))
