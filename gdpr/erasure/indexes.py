"""The residue proof's indexes, on by default on PostgreSQL: built in the background after the migrations
and kept current by the scheduler. Each pass of the leading scheduler compares the indexes the proof
wants (one per table's text, named by a digest of its definition) with the valid ones present; when they
differ - the first pass after a deployment, a column added to the platform's schema, a build cut short -
one build runs on a thread of its own (`CREATE INDEX CONCURRENTLY`: the platform keeps writing), and the
pass goes on. Until it ends, a table without its index is read whole, never skipped."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from gdpr.core.datamap import DataMap
from gdpr.erasure.residue import ensure_indexes, stale_indexes

log = logging.getLogger(__name__)


@dataclass
class ResidueIndexes:
    engine: Engine  # the platform's database
    datamap: DataMap
    enabled: bool = True  # RESIDUE_INDEXES=false: a DBA builds them (`gdpr-bot residue index`), or not at all
    _build: threading.Thread | None = field(default=None, init=False)

    def keep(self) -> bool:
        """Start a build when the indexes are not what the proof wants; True when one started."""
        if not self.enabled or self.engine.dialect.name != "postgresql" or self.building:
            return False
        if not stale_indexes(self.engine, self.datamap):
            return False
        self._build = threading.Thread(target=self._run, daemon=True, name="residue-indexes")
        self._build.start()
        return True

    @property
    def building(self) -> bool:
        return self._build is not None and self._build.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the build under way ends; False if it is still running."""
        if self._build is not None:
            self._build.join(timeout)
        return not self.building

    def _run(self) -> None:
        try:
            made = ensure_indexes(self.engine, self.datamap, progress=lambda _: None)
        except Exception as exc:  # the database went away, a lock timed out: the next pass tries again
            log.warning("residue indexes: build stopped (%s); tables without theirs are read whole",
                        type(exc).__name__)
            return
        log.info("residue indexes: %d in place", len(made))
