"""Proof of erasure: search every text column of the system database for the former identifiers.

Runs after the erasure committed, with the identifiers of this job only. Rows still under legal hold
for this subject are excluded (they are kept on purpose). Values that identify the person alone
(email, phone, IBAN, national id, card and integration ids) are searched in every row; a full name
only where it can be this person's data (rows linked to this subject, and tables the data map does
not tie to subjects): the same name in another member's rows is a namesake, counted and reported,
not a failure.

One pass per table for all identifiers at once: each row's text columns are joined and lower-cased
once (JSON columns as their text) and tested against every identifier (PostgreSQL: `LIKE ANY`, or
where the optional trigram index on that text without separators exists, one `LIKE` per identifier
without separators that the index answers, see `ensure_indexes` and `Asked`; SQLite: one regular
expression); only the rows that hold an identifier are then looked at column by column, with one
regular expression per identifier. One subject's proof is the shared proof's group of one. Where every
table has its indexes and few subjects are sought, the tables are read in one snapshot on one
connection (a lookup takes a tenth of a millisecond; a connection and a transaction per table cost
more); on PostgreSQL the tables that must be read whole, and every table when many subjects are
sought, are read over a few connections at once, largest first.

A phone matches in any format (its last nine digits, with any separators between them:
`+32 470 12 34 56`, `0470/12.34.56`), an IBAN with or without the spaces between its groups: in free
text (text and JSON columns, and columns of 1000 characters or more) whatever the separators,
elsewhere as stored or as digits only.
"""
from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Row,
    String,
    Text,
    bindparam,
    cast,
    column,
    false,
    func,
    inspect,
    literal_column,
    not_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement, TextClause

from gdpr.core.datamap import DataMap
from gdpr.core.scope import Keys, other_rows, subject_rows
from gdpr.erasure.engine import ErasureEngine, Identifiers

PHONE = re.compile(r"^\+?[\d\s().\-/]{8,}$")
IBAN = re.compile(r"^[a-z]{2}\d{2}(?: ?[a-z0-9]){10,30}$")
GAP = "[ .()/+-]{0,3}"  # what may stand between a phone's digits: spaces, dots, dashes, slashes, brackets


@dataclass(frozen=True)
class Hit:
    table: str
    column: str
    rows: int


@dataclass
class Residue:
    hits: list[Hit] = field(default_factory=list)
    namesakes: int = 0  # rows of other subjects that carry the same full name


def pattern(value: str) -> str:
    """One identifier (lower-cased) as a regular expression over lower-cased text, valid in Python and in
    PostgreSQL's advanced regular expressions."""
    digits = re.sub(r"\D", "", value)
    if PHONE.match(value) and len(digits) >= 8:
        return GAP.join(digits[-9:])
    if IBAN.match(value):
        return " ?".join(re.sub(r"[^0-9a-z]", "", value))
    return re.escape(value)


def alternation(values: set[str]) -> str | None:
    return "|".join(f"(?:{pattern(v)})" for v in sorted(values)) or None


def compact(value: str) -> str | None:
    """A phone's last nine digits, an IBAN without its spaces; None for anything else."""
    digits = re.sub(r"\D", "", value)
    if PHONE.match(value) and len(digits) >= 8:
        return digits[-9:]
    if IBAN.match(value):
        return re.sub(r"[^0-9a-z]", "", value)
    return None


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


FREE_TEXT = 1000  # varchar(1000) and longer, text and JSON hold free text: phones in any format are looked for there
SEPARATORS = " .-/()+"  # the characters GAP allows, removed before a free-text column is compared
CONNECTIONS = 2  # PostgreSQL: tables read at once (each on its own connection)
MANY = 8  # subjects proven together from which the indexed tables too are read over CONNECTIONS
INDEX_PREFIX = "gdpr_residue_"


@dataclass(frozen=True)
class TextTable:
    name: str
    cols: list[tuple[str, bool]]  # (column, holds free text)

    @property
    def free(self) -> list[str]:
        return [c for c, is_free in self.cols if is_free]


_PG_TEXT_COLUMNS = text("""
SELECT c.table_name, c.column_name, c.data_type IN ('text', 'json', 'jsonb') OR c.character_maximum_length IS NULL
       OR c.character_maximum_length >= :free
FROM information_schema.columns c JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
WHERE c.table_schema = current_schema() AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')
ORDER BY c.table_name, c.ordinal_position""")


def text_tables(engine: Engine) -> list[TextTable]:
    """Every table with text columns (JSON included), by name; on PostgreSQL one catalog query."""
    if engine.dialect.name == "postgresql":
        found: dict[str, list[tuple[str, bool]]] = {}
        with engine.connect() as conn:
            for tname, col, is_free in conn.execute(_PG_TEXT_COLUMNS, {"free": FREE_TEXT}):
                found.setdefault(tname, []).append((col, bool(is_free)))
        return [TextTable(name, cols) for name, cols in found.items()]
    insp = inspect(engine)
    out = []
    for tname in sorted(insp.get_table_names()):
        cols = [(c["name"], _free(c["type"])) for c in insp.get_columns(tname)
                if isinstance(c["type"], (String, Text, JSON))]
        if cols:
            out.append(TextTable(tname, cols))
    return out


@dataclass(frozen=True)
class Sought:
    """One erased subject whose former identifiers a proof looks for."""
    kind: str
    key: str
    identifiers: Identifiers

    @property
    def empty(self) -> bool:
        return not self.identifiers.values and not self.identifiers.names

    @functools.cached_property
    def literals(self) -> tuple[str, ...]:
        """What `_candidates` looks for in a row's joined text (PostgreSQL)."""
        return tuple(sorted(_literals(self.identifiers)))

    @functools.cached_property
    def cores(self) -> tuple[str, ...]:
        """What it looks for in a row's free text without separators (PostgreSQL)."""
        return tuple(_cores(self.identifiers))

    @functools.cached_property
    def regex(self) -> re.Pattern | None:
        """What it looks for in a row's joined text (SQLite)."""
        expr = _any_regex(self.identifiers)
        return re.compile(expr) if expr else None


def residue_check(engine: Engine, datamap: DataMap, erasure: ErasureEngine, *, kind: str, key: str,
                  identifiers: Identifiers, connections: int = CONNECTIONS) -> Residue:
    return residue_checks(engine, datamap, erasure, [Sought(kind, key, identifiers)], connections=connections)[0]


def residue_checks(engine: Engine, datamap: DataMap, erasure: ErasureEngine, sought: list[Sought], *,
                   connections: int = CONNECTIONS) -> list[Residue]:
    """The proof for several erased subjects at once (one result each, in order): each table is read once
    for all their identifiers, and only the rows that hold one of a subject's are then looked at for that
    subject, with its own rules (its rows, its legal holds, its namesakes). A hit for one never touches
    another's result."""
    live = [s for s in sought if not s.empty]
    if not live:
        return [Residue() for _ in sought]
    tables = _holding_rows(engine, text_tables(engine))
    indexed, order = _reads(engine, tables, many=len(live) >= MANY)
    asked = Asked.of([s.literals for s in live])  # what the indexes are asked, if a table has one

    if order is None or connections <= 1:  # one snapshot, one connection: a round trip or two per table
        with _snapshot(engine) as conn:
            parts = [_shared_scan(conn, datamap, erasure, t, live, indexed, asked) for t in tables]
    else:  # each connection takes the next table, largest first, on one snapshot of its own: a transaction
        # per connection, not per table
        pending, taking, done = iter(order), threading.Lock(), {}

        def reader() -> None:
            with _snapshot(engine) as conn:
                while True:
                    with taking:
                        t = next(pending, None)
                    if t is None:
                        return
                    done[t.name] = _shared_scan(conn, datamap, erasure, t, live, indexed, asked)

        with ThreadPoolExecutor(connections, thread_name_prefix="residue") as pool:
            for reading in [pool.submit(reader) for _ in range(connections)]:
                reading.result()
        parts = [done[t.name] for t in tables]
    results = {id(s): Residue() for s in live}
    for part in parts:
        for s, found in zip(live, part, strict=True):
            results[id(s)].hits += found.hits
            results[id(s)].namesakes += found.namesakes
    return [results.get(id(s)) or Residue() for s in sought]


def _snapshot(engine: Engine) -> Connection:
    """A connection whose reads all see one snapshot (PostgreSQL: REPEATABLE READ; SQLite's transaction
    already does), so the rows found in a shared pass are the rows each subject's look then reads."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


def _shared_scan(conn: Connection, datamap: DataMap, erasure: ErasureEngine, t: TextTable, sought: list[Sought],
                 indexed: set[str], asked: Asked) -> list[Residue]:
    """One read of the table for every subject's identifiers (one subject is a group of one); then, per subject
    whose identifiers a found row holds, the per-column tests on those rows (`_attribute`). A row found by
    the index is tested only for the subjects whose lookups found it (`Asked.owners`), not for all."""
    rows = _candidates(conn, t, sought, indexed, asked)
    everyone = range(len(sought))
    mine: list[list[Found]] = [[] for _ in sought]
    for r in rows:
        for i in (everyone if r.by is None else set().union(*(asked.owners[k] for k in r.by))):
            if _holds(conn, sought[i], r.whole, r.free):
                mine[i].append(r)
    return [_attribute(conn, datamap, erasure, t, s, rs) if rs else Residue() for s, rs in zip(sought, mine, strict=True)]


def _attribute(conn: Connection, datamap: DataMap, erasure: ErasureEngine, t: TextTable, sought: Sought,
               rows: list[Found]) -> Residue:
    """The per-column tests for one subject on the rows found for it: the row's links to the subject
    (its own, someone else's, held) read by row id, the regular expressions run here on the text the
    database lower-cased (the same expressions, valid in both)."""
    rules, result = Rules.of(conn, datamap, erasure, t, sought), Residue()
    row_id = literal_column("ctid::text" if conn.dialect.name == "postgresql" else "rowid")
    links = {str(r[0]): (r[1], r[2], r[3]) for r in conn.execute(
        select(row_id, rules.own, rules.other, rules.looked_at).select_from(table(t.name))
        .where(_row_in(conn, [r.row_id for r in rows])))}
    names, hits = _regex(rules.names), dict.fromkeys([c for c, _ in t.cols], 0)
    for r in rows:
        own, other, looked_at = links.get(r.row_id, (None, None, None))
        if not looked_at:
            continue
        for (c, is_free), value in zip(t.cols, r.values, strict=True):
            named = names is not None and names.search(value) is not None
            unique = _regex(rules.anywhere if is_free else rules.as_stored)
            if (unique is not None and unique.search(value) is not None) or (own and named):
                hits[c] += 1
            if other and named:
                result.namesakes += 1
    result.hits = [Hit(t.name, c, n) for c, n in hits.items() if n]
    return result


def _regex(expr: str | None) -> re.Pattern | None:
    return None if expr is None else _compiled(expr)


@functools.lru_cache(maxsize=4096)
def _compiled(expr: str) -> re.Pattern:
    return re.compile(expr)


@dataclass(frozen=True)
class Found:
    """A row a shared pass found: its id in this snapshot, its joined text, its free text without
    separators, each text column lower-cased (in the table's column order), and what found it."""
    row_id: str
    whole: str
    free: str
    values: tuple[str, ...]
    by: frozenset[str] | None = None  # the index lookups that found it (None: read whole, for every subject)


def _candidates(conn: Connection, t: TextTable, sought: list[Sought], indexed: set[str], asked: Asked) -> list[Found]:
    """(row id, its joined text, its free text without separators) of every row that holds an identifier of
    any subject: on PostgreSQL one `LIKE` per identifier without separators (`Asked`) answered by the
    table's trigram index where it exists, else one pass with `LIKE ANY`; on SQLite one pass with one
    regular expression."""
    if conn.dialect.name != "postgresql":
        joined = _joined(conn, [c for c, _ in t.cols])
        regex = "|".join(r for r in (_any_regex(s.identifiers) for s in sought) if r)
        found = conn.execute(select(literal_column("rowid"), joined, *[_text(conn, column(c)) for c, _ in t.cols])
                             .select_from(table(t.name)).where(_matches(conn, joined, regex))).all()
        return [Found(str(r[0]), r[1] or "", "", tuple(v or "" for v in r[2:])) for r in found]
    whole, free = joined_sql(conn, [c for c, _ in t.cols]), joined_sql(conn, t.free, squeeze=True) if t.free else "''"
    quote = conn.dialect.identifier_preparer.quote
    each = ", ".join(f"coalesce(lower({quote(c)}::text), '') AS v{i}" for i, (c, _) in enumerate(t.cols))
    index = _trigrams(conn, t)["text"]
    if index in indexed:
        # one index lookup per pattern (a parameter per loop: planned once, not once per pattern) on the text
        # without separators (`Asked`); each row comes with the patterns that found it. No JIT: the
        # disabled sequential scan's cost would make PostgreSQL compile a query of milliseconds.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")  # one round trip
        squeezed = joined_sql(conn, [c for c, _ in t.cols], squeeze=True)
        sql = (f"SELECT h.*, p.k FROM unnest(CAST(:p AS text[]), CAST(:k AS text[])) AS p(pat, k) CROSS JOIN LATERAL "
               f'(SELECT ctid, {whole}, {free}, {each} FROM "{t.name}" WHERE {squeezed} LIKE p.pat) h')
        first: dict[str, Row] = {}
        by: dict[str, set[str]] = {}
        for r in conn.execute(text(sql), {"p": [_like(k) for k in asked.patterns], "k": asked.patterns}).all():
            first.setdefault(str(r[0]), r)
            by.setdefault(str(r[0]), set()).add(r[-1])
        return [Found(ctid, r[1] or "", r[2] or "", tuple(r[3:-1]), frozenset(by[ctid])) for ctid, r in first.items()]
    # read whole (an earlier table of this transaction may have turned the planner's defaults off)
    conn.exec_driver_sql("SET LOCAL enable_seqscan TO DEFAULT; SET LOCAL jit TO DEFAULT")
    values = sorted({v for s in sought for v in s.literals})
    cores = sorted({c for s in sought for c in s.cores}) if t.free else []
    sql = (f'SELECT ctid, {whole}, {free}, {each} FROM "{t.name}" '
           f'WHERE {whole} LIKE ANY(CAST(:p AS text[])) OR {free} LIKE ANY(CAST(:c AS text[]))')
    params = {"p": [_like(v) for v in values], "c": [_like(c) for c in cores]}
    return [Found(str(r[0]), r[1] or "", r[2] or "", tuple(r[3:])) for r in conn.execute(text(sql), params).all()]


def squeeze(value: str) -> str:
    """A lower-cased identifier without the separators `joined_sql(squeeze=True)` removes."""
    return value.translate(_SQUEEZE)


_SQUEEZE = str.maketrans("", "", SEPARATORS)


@dataclass(frozen=True)
class Asked:
    """What the squeezed trigram index is asked for so that every row holding an identifier is found, and
    for whom: each identifier without separators, less those that hold one kept already (its rows are
    among that one's: a phone as written holds its last nine digits, an email often the name), shortest
    first; `owners` maps each pattern to the subjects (by position) one of whose identifiers holds it. A
    row that holds a subject's identifier holds it without separators, so holds the pattern kept for it,
    so was found by that pattern's lookup: only that pattern's owners need testing on the row."""
    patterns: list[str]
    owners: dict[str, set[int]]

    @classmethod
    def of(cls, literals: list[Iterable[str]]) -> Asked:
        subjects: dict[str, set[int]] = {}
        for i, own in enumerate(literals):
            for v in own:
                if squeezed := squeeze(v):
                    subjects.setdefault(squeezed, set()).add(i)
        kept: list[str] = []
        lengths: list[int] = []  # of the patterns kept, shortest first: where a shorter one may sit in a longer
        owners: dict[str, set[int]] = {}
        known: set[str] = set()
        for v in sorted(subjects, key=lambda v: (len(v), v)):
            held = next((v[i:i + n] for n in lengths for i in range(len(v) - n + 1) if v[i:i + n] in known), None)
            if held is None:
                held = v
                kept.append(v)
                known.add(v)
                if not lengths or lengths[-1] != len(v):
                    lengths.append(len(v))
            owners.setdefault(held, set()).update(subjects[v])
        return cls(kept, owners)


def _any_regex(ids: Identifiers) -> str:
    """Every identifier as one regular expression over a row's joined text (SQLite's `_any_match`)."""
    return "|".join(r for r in (alternation(ids.values), alternation(ids.names)) if r)


def _literals(ids: Identifiers) -> set[str]:
    return ids.values | ids.names | set(_cores(ids))


def _cores(ids: Identifiers) -> list[str]:
    return sorted({c for c in (compact(v) for v in ids.values) if c})


def _holds(conn: Connection, sought: Sought, whole: str, free: str) -> bool:
    """Whether a found row passes this subject's `_any_match` (the same test, on the text the database
    computed): then its own look reads the row."""
    if conn.dialect.name != "postgresql":
        return sought.regex is not None and sought.regex.search(whole) is not None
    return any(v in whole for v in sought.literals) or any(c in free for c in sought.cores)


def _holding_rows(engine: Engine, tables: list[TextTable]) -> list[TextTable]:
    """The tables that hold a row now, in one query (an EXISTS each): an empty table has nothing left to
    find, and its per-table query would cost its building alone. A row written after this is as missed as
    one written into a table after it was read."""
    if not tables:
        return tables
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as conn:
        held = set(conn.execute(text(" UNION ALL ".join(
            f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {quote(t.name)})" for i, t in enumerate(tables)))).scalars())
    return [t for i, t in enumerate(tables) if i in held]


def _reads(engine: Engine, tables: list[TextTable], *, many: bool = False) -> tuple[set[str], list[TextTable] | None]:
    """PostgreSQL: the names of `ensure_indexes`' indexes present, and when two tables or more have none
    (they are read whole) or `many` subjects are sought (a lookup per identifier and table: a hundred
    subjects' take seconds), every table largest first, so the longest reads start first and none
    straggles at the end; None when there is nothing worth a second connection (one subject's lookups in
    indexed tables take milliseconds)."""
    if engine.dialect.name != "postgresql":
        return set(), None
    with engine.connect() as conn:
        indexed = _present_indexes(conn)
        unindexed = [t for t in tables if not indexed & set(_trigrams(conn, t).values())]
        if len(unindexed) < 2 and not many:
            return indexed, None
        size = dict(conn.execute(text("SELECT relname, relpages FROM pg_class WHERE relkind = 'r' "
                                      "AND relnamespace = current_schema()::regnamespace")).all())
    return indexed, sorted(tables, key=lambda t: -(size.get(t.name) or 0))


def _free(sql_type: object) -> bool:
    return isinstance(sql_type, (Text, JSON)) or (getattr(sql_type, "length", None) or FREE_TEXT) >= FREE_TEXT


def joined_sql(conn: Connection, cols: list[str], *, squeeze: bool = False) -> str:
    """PostgreSQL: the columns' text joined (NULL as empty) and lower-cased once (a fifth cheaper than
    lower-casing each column); with `squeeze`, without the separators a phone may be written with.
    Literal SQL, the same in the query and in the index."""
    quote = conn.dialect.identifier_preparer.quote
    out = "lower(" + " || E' \\x1f ' || ".join(f"coalesce({quote(c)}::text, '')" for c in cols) + ")"
    return f"translate({out}, '{SEPARATORS}', '')" if squeeze else out


def _joined(conn: Connection, cols: list[str]) -> ColumnElement:
    """SQLite: the columns' text, lower-cased and joined (NULL as empty)."""
    out = _text(conn, column(cols[0]))
    for c in cols[1:]:
        out = out.concat(" \x1f ").concat(_text(conn, column(c)))
    return out


def _text(conn: Connection, col: ColumnElement) -> ColumnElement:
    return func.coalesce(func.lower(cast(col, Text)), "")


def _matches(conn: Connection, text: ColumnElement, regex: str | None) -> ColumnElement:
    if regex is None:
        return false()
    if conn.dialect.name == "postgresql":
        return text.op("~")(regex)
    return func.gdpr_regexp(regex, text)  # SQLite: the engine registers it (gdpr.core.db)


@dataclass(frozen=True)
class Rules:
    """One subject's rules in one table: which rows are its own (a name there is its data), which are
    someone else's (a name there is a namesake's), which are looked at (not under its legal hold); and its
    identifiers as regular expressions over lower-cased text."""
    own: ColumnElement
    other: ColumnElement
    looked_at: ColumnElement
    names: str | None
    anywhere: str | None  # free text: a phone in any format
    as_stored: str | None  # elsewhere: as stored, or as digits only

    @classmethod
    def of(cls, conn: Connection, datamap: DataMap, erasure: ErasureEngine, t: TextTable, sought: Sought) -> Rules:
        spec, kind, dialect, ids = datamap.tables.get(t.name), sought.kind, conn.dialect.name, sought.identifiers
        key: Keys = sought.key
        own: ColumnElement = true()
        other: ColumnElement = false()
        looked_at: ColumnElement = true()
        linked = spec is not None and bool(datamap.links(spec, kind))
        if spec is not None:
            # a row linked to the subject through any link (a converted lead's note too) is the subject's
            own = subject_rows(datamap, spec, kind, key, dialect) if linked else false()
            other = other_rows(datamap, spec, kind, key, dialect)
            if linked and spec.erasure.hold is not None:
                looked_at = not_(subject_rows(datamap, spec, kind, key, dialect) & erasure.held(spec))
        as_stored = "|".join(f"(?:{re.escape(v)})|(?:{re.escape(compact(v) or v)})" for v in sorted(ids.values)) or None
        return cls(own, other, looked_at, alternation(ids.names), alternation(ids.values), as_stored)


def _row_in(conn: Connection, row_ids: list[str]) -> ColumnElement | TextClause:
    if conn.dialect.name == "postgresql":
        return text("ctid = ANY(CAST(:row_ids AS tid[]))").bindparams(bindparam("row_ids", row_ids, type_=ARRAY(Text)))
    return literal_column("rowid").in_([int(r) for r in row_ids])


def ensure_indexes(engine: Engine, datamap: DataMap, *, progress: Callable[[str], object] = print) -> list[str]:
    """PostgreSQL, optional (a DBA's choice): per table, a trigram GIN index on the joined text the check
    reads, without separators, and an index on each subject's lower-cased identifier columns (the lookup
    of values another subject shares). Idempotent; the per-column indexes of earlier
    versions are dropped. A table whose columns changed needs the command again (its old index no longer
    matches, the check then reads the table)."""
    if engine.dialect.name != "postgresql":
        return []
    made = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        wanted, present = _wanted_indexes(conn, engine, datamap), _present_indexes(conn)
        for old in sorted(present - set(wanted)):  # an earlier version's, or one whose table's columns changed
            conn.execute(text(f'DROP INDEX CONCURRENTLY IF EXISTS "{old}"'))
        for name, (tname, expr) in wanted.items():
            if name not in present:
                conn.execute(text(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'))  # left invalid by a cut build
                conn.execute(text(f'CREATE INDEX CONCURRENTLY "{name}" ON "{tname}" {expr}'))
            made.append(name)
            progress(f"  {name}")
    return made


def stale_indexes(engine: Engine, datamap: DataMap) -> bool:
    """PostgreSQL: whether an index `ensure_indexes` makes is missing or no longer matches its table (a
    column added or changed since), or an old one is left; two catalog queries."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return set(_wanted_indexes(conn, engine, datamap)) != _present_indexes(conn)


def _present_indexes(conn: Connection) -> set[str]:
    """Ours (and an earlier version's), valid only: one that a build cut short left invalid counts as missing."""
    return set(conn.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE i.indisvalid "
        "AND c.relnamespace = current_schema()::regnamespace AND (c.relname LIKE 'gdpr\\_trgm\\_%' "
        "OR c.relname LIKE :p)"), {"p": INDEX_PREFIX.replace("_", "\\_") + "%"}).scalars())


def _wanted_indexes(conn: Connection, engine: Engine, datamap: DataMap) -> dict[str, tuple[str, str]]:
    """{index name: (table, definition)}; the name carries a digest of the definition, so an index that no
    longer matches what the check reads (a column added) is told apart and replaced."""
    out = {}
    for t in text_tables(engine):
        for name, expr in _trigrams(conn, t, definitions=True).items():
            out[name] = (t.name, expr)
    quote = conn.dialect.identifier_preparer.quote
    for subject in datamap.subjects.values():
        spec = datamap.tables.get(subject.table)
        for c, rule in (spec.columns.items() if spec else []):
            if rule.identifier:
                expr = f"(lower({quote(c)}))"
                out[_index_name(subject.table, c, expr)] = (subject.table, expr)
    for tname, spec in datamap.tables.items():  # the k-anonymity count reads a partition's quasi columns only
        if spec.anonymity is not None:
            expr = "(" + ", ".join(quote(c) for c in spec.anonymity.quasi) + ")"
            out[_index_name(tname, "k", expr)] = (tname, expr)
    return out


def _trigrams(conn: Connection, t: TextTable, *, definitions: bool = False) -> dict[str, str]:
    """A table's trigram index, on all its text without separators: {"text": index name}, or with
    `definitions` {index name: definition}. Without separators, a phone written with spaces or an email
    asks the index for rare trigrams only (`+32 476 40 16 52`'s short words are in most phones: 2 ms a
    lookup at 50,000 members against 0.15 ms for `476401652`)."""
    exprs = {"text": joined_sql(conn, [c for c, _ in t.cols], squeeze=True)}
    defs = {part: f"USING gin (({expr}) gin_trgm_ops)" for part, expr in exprs.items()}
    names = {part: _index_name(t.name, part, d) for part, d in defs.items()}
    return {names[p]: defs[p] for p in defs} if definitions else names


def _index_name(tname: str, part: str, definition: str) -> str:
    return f"{INDEX_PREFIX}{tname[:30]}_{part[:16]}_{hashlib.sha1(definition.encode()).hexdigest()[:8]}"


