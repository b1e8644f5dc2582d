"""The one composition root: real adapters built from settings; tests pass their own."""
from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field

import dramatiq
from slack_sdk import WebClient

from bootstrap.config import load_config
from bootstrap.metrics import METRICS, Metrics
from gdpr.app.breaches import BreachDesk, BreachViews
from gdpr.app.club_api import ClubAccess, ClubApi
from gdpr.app.club_delivery import ByRequester, ClubDelivery
from gdpr.app.consent import ConsentDesk, ObjectionJob, WithdrawalJob
from gdpr.app.deadlines import RequestDeadlines
from gdpr.app.grants import Grants
from gdpr.app.history import SubjectHistory
from gdpr.app.home import Overview
from gdpr.app.housekeeping import Housekeeping
from gdpr.app.lookup import FindSubjects
from gdpr.app.purges import BulkViews, Purges
from gdpr.app.reads import AuditedRead
from gdpr.app.requests import ExportJob, RequestViews, SubjectRequests
from gdpr.app.rights import INSTRUCTIONS, LiftNotice, RectificationJob, RestrictionJob, RightsDesk
from gdpr.app.ropa import Records
from gdpr.breaches.config import BreachConfig
from gdpr.breaches.mail import BreachMail
from gdpr.breaches.service import BreachService
from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.job import BulkJob
from gdpr.bulk.retention import RetentionConfig
from gdpr.bulk.runs import BulkRuns
from gdpr.clubs.downloads import Downloads
from gdpr.clubs.offboarding import OffboardingSteps
from gdpr.clubs.ropa import RecordOfProcessing
from gdpr.clubs.tokens import ClubTokens
from gdpr.consent.registry import ConsentRegistry
from gdpr.core.access import AccessPolicy
from gdpr.core.audit import AuditLog
from gdpr.core.authz import Authorizer
from gdpr.core.datamap import DataMap
from gdpr.core.db import Database
from gdpr.core.deployment import claim_exports
from gdpr.core.keyring import KeyRing
from gdpr.core.mail import make_mailer
from gdpr.core.ports import JobQueue, Presenters
from gdpr.core.replays import SeenRequests
from gdpr.core.settings import Settings
from gdpr.core.shown import ShownMessages
from gdpr.core.subjects import SubjectDirectory
from gdpr.core.templating import Templates
from gdpr.erasure.engine import ErasureEngine
from gdpr.erasure.indexes import ResidueIndexes
from gdpr.erasure.job import ErasureJob, NoticeJob
from gdpr.erasure.ledger import forget_corrections
from gdpr.erasure.notices import NoticeService
from gdpr.erasure.proofs import ProofGroup
from gdpr.erasure.residue import residue_check
from gdpr.erasure.stores import (
    BulkForget,
    Corrections,
    DatabaseSearch,
    ErasedSubject,
    ExportArchives,
    MailFiles,
    RedisStore,
    SlackMessages,
    SubjectStore,
)
from gdpr.grants.service import GrantService
from gdpr.lifecycle.outbox import send_lease
from gdpr.requests.archives import make_store
from gdpr.requests.certificates import PUBLISHED, Certificates
from gdpr.requests.deadlines import Deadlines
from gdpr.requests.export import Exporter
from gdpr.requests.export_files import ExportFiles
from gdpr.requests.jobs import Leases
from gdpr.requests.rights import PlatformRights
from gdpr.requests.service import RequestService
from workers.actors import Actors, declare
from workers.broker import make_broker

# slack_sdk logs request bodies at DEBUG (the passphrase DM among them): keep it above DEBUG. This is
# defence in depth only: Bolt sets its loggers' levels from the root logger's, so what keeps bodies
# out of every log is gdpr.core.logsafe's record factory, installed by every process at start.
logging.getLogger("slack_sdk").setLevel(logging.INFO)


@dataclass
class Services:
    settings: Settings
    db: Database
    system: Database
    datamap: DataMap
    policy: AccessPolicy
    audit: AuditLog
    requests: RequestService
    directory: SubjectDirectory
    exporter: Exporter
    templates: Templates
    slack: WebClient
    broker: dramatiq.Broker
    system_writer: Database
    erasure: ErasureEngine
    notices: NoticeService
    ring: KeyRing
    retention: RetentionConfig
    bulk: BulkEngine
    runs: BulkRuns
    breach_config: BreachConfig
    breaches: BreachService
    breach_mail: BreachMail
    exports: ExportFiles
    authz: Authorizer
    find_subjects: FindSubjects
    reads: AuditedRead
    shown: ShownMessages  # the presenters' table of where things are shown
    deliveries: dict[str, str]  # club code -> how its members' exports go (config/clubs.yaml)
    grants: GrantService
    downloads: Downloads
    club_tokens: ClubTokens
    seen: SeenRequests  # the Slack replay guard (the state DB)
    platform_rights: PlatformRights  # restriction and rectification in the platform (the system database)
    metrics: Metrics = field(default_factory=lambda: METRICS)  # this process's own series (Prometheus)
    actors: Actors = field(init=False)
    queue: JobQueue = field(init=False)  # the actors, unless a test hands in its own
    presenters: Presenters = field(init=False)
    subject_requests: SubjectRequests = field(init=False)
    purges: Purges = field(init=False)
    breach_desk: BreachDesk = field(init=False)
    access_grants: Grants = field(init=False)
    request_deadlines: RequestDeadlines = field(init=False)
    subject_history: SubjectHistory = field(init=False)
    consent: ConsentDesk = field(init=False)
    rights_desk: RightsDesk = field(init=False)
    overview: Overview = field(init=False)
    club_api: ClubApi = field(init=False)
    club_access: ClubAccess = field(init=False)
    records: Records = field(init=False)
    housekeeping: Housekeeping = field(init=False)
    leases: Leases = field(init=False)

    proofs: ProofGroup = field(init=False)
    residue_indexes: ResidueIndexes = field(init=False)
    certificates: Certificates = field(init=False)

    def __post_init__(self) -> None:
        self.leases = Leases(self.requests, dt.timedelta(seconds=self.settings.lease_seconds))
        self.residue_indexes = ResidueIndexes(self.system.engine, self.datamap, enabled=self.settings.residue_indexes)
        self.proofs = ProofGroup(self.db, self.system.engine, self.datamap, self.erasure, self.ring.sealer("erasure"),
                                 self.requests.clock, send_lease(self.settings.lease_seconds))

    # -- the jobs the actors run (use cases on the ports: the Slack presenters and the queue) ---------
    def bulk_job(self) -> BulkJob:
        return BulkJob(runs=self.runs, engine=self.bulk, writer=self.system_writer,
                       same_db=self.settings.system_url == self.settings.database_url,
                       delivery=self.presenters.bulk, max_attempts=self.settings.job_max_attempts,
                       pause_s=self.retention.pause_ms / 1000, notices=self.notices, queue=self.queue,
                       offboarding=self.offboarding_steps(),
                       forget=BulkForget(self.requests.pseudonym, self.requests.refs_with_requests,
                                         [s for s in self.subject_stores() if s.name in ("slack", "exports", "corrections")]))

    def offboarding_steps(self) -> OffboardingSteps:
        return OffboardingSteps(runs=self.runs, engine=self.bulk, exporter=self.exporter, datamap=self.datamap,
                                notices=self.notices, presenter=self.presenters.bulk, ring=self.ring,
                                clock=self.requests.clock, tokens=self.club_tokens, requests=self.requests,
                                request_presenter=self.presenters.requests)

    def erasure_job(self) -> ErasureJob:
        return ErasureJob(requests=self.requests, leases=self.leases, engine=self.erasure, system=self.system,
                          datamap=self.datamap, notices=self.notices, delivery=self.presenters.requests,
                          queue=self.queue, exports=self.exports, ring=self.ring, proofs=self.proofs,
                          max_attempts=self.settings.job_max_attempts, stores=self.subject_stores())

    def subject_stores(self) -> list[SubjectStore]:
        """Every store beside the platform's database that holds something about a subject (gdpr/erasure/engine/stores.py)."""
        exports, settings = self.exports, self.settings

        def state_search(subject: ErasedSubject) -> list[str]:
            hits = residue_check(self.db.engine, self.datamap, self.erasure, kind=subject.kind, key=subject.key,
                                 identifiers=subject.identifiers).hits
            return [f"{h.table}.{h.column}:{h.rows}" for h in hits]
        search = state_search if settings.system_url != settings.database_url else None  # one database: read once
        redis_client = None
        if settings.redis_url:
            import redis
            url = settings.redis_url
            redis_client = lambda: redis.Redis.from_url(url)  # noqa: E731
        return [DatabaseSearch(search),
                SlackMessages(requests_of=self.requests.of_subject, grants_of=self.grants.of_subject,
                              request_changed=self.presenters.requests.request_changed,
                              grant_changed=self.presenters.grants.grant_changed, owed=self.shown.owed,
                              notices_changed=self.presenters.requests.notices_changed),
                ExportArchives(remove=lambda ref: exports.erase_subject(subject_ref=ref),
                               left=lambda ref: exports.subject_left(subject_ref=ref), kind=exports.store.kind),
                MailFiles(settings.outbox_dir), RedisStore(redis_client),
                Corrections(lambda kind, key: forget_corrections(self.db, kind=kind, key=key))]

    def withdrawal_job(self) -> WithdrawalJob:
        return WithdrawalJob(requests=self.requests, leases=self.leases, delivery=self.presenters.requests,
                             max_attempts=self.settings.job_max_attempts, registry=self.consent.registry,
                             notices=self.notices, queue=self.queue, clock=self.requests.clock)

    def objection_job(self) -> ObjectionJob:
        return ObjectionJob(requests=self.requests, leases=self.leases, delivery=self.presenters.requests,
                            max_attempts=self.settings.job_max_attempts, erasure=self.erasure, notices=self.notices,
                            queue=self.queue, clock=self.requests.clock)

    def restriction_job(self) -> RestrictionJob:
        lifted = LiftNotice(templates=self.templates, mailer=make_mailer(self.settings.smtp_url, self.settings.outbox_dir),
                            controller=self.exporter.controller, datamap=self.datamap, sender=self.breach_config.sender,
                            requests=self.requests)
        return RestrictionJob(requests=self.requests, leases=self.leases, delivery=self.presenters.requests,
                              max_attempts=self.settings.job_max_attempts, rights=self.platform_rights,
                              erasure=self.erasure, notices=self.notices, queue=self.queue, clock=self.requests.clock,
                              lifted=lifted)

    def rectification_job(self) -> RectificationJob:
        return RectificationJob(requests=self.requests, leases=self.leases, delivery=self.presenters.requests,
                                max_attempts=self.settings.job_max_attempts, rights=self.platform_rights,
                                erasure=self.erasure, notices=self.notices, queue=self.queue,
                                clock=self.requests.clock, sealer=self.ring.sealer(INSTRUCTIONS))

    def notice_job(self) -> NoticeJob:
        return NoticeJob(requests=self.requests, notices=self.notices, delivery=self.presenters.requests,
                         queue=self.queue,
                         run_notices_changed=self._run_notices_changed)

    def _run_notices_changed(self, run_id: int) -> None:
        """A run's notices all settled (or one failed): its card shows them; an offboarding's statement,
        waiting for them, is signed now."""
        self.presenters.bulk.bulk_changed(self.runs.get(run_id))
        self.offboarding_steps().settle(run_id)

    def export_job(self) -> ExportJob:
        return ExportJob(requests=self.requests, leases=self.leases, exporter=self.exporter, files=self.exports,
                         delivery=self.presenters.requests, max_attempts=self.settings.job_max_attempts)

    def reconcile(self) -> list[int]:
        return self.housekeeping.reconcile()

    def close(self) -> None:
        self.seen.close()
        self.db.dispose()
        self.system.dispose()
        self.system_writer.dispose()


def slack_presenters(services: Services) -> Presenters:
    """The Slack adapter's presenters, each handed the Slack client, the cards table and the read model it
    renders (never a domain service)."""
    from bot.cards import Cards, CatchUp, Loaders
    from bot.delivery import SlackDelivery
    from bot.delivery_breach import BreachSlackDelivery
    from bot.delivery_bulk import BulkSlackDelivery
    from bot.delivery_grant import GrantSlackDelivery
    from bot.delivery_home import HomeSlackDelivery
    s = services
    slack, cards, approvals = s.slack, Cards(s.slack, s.shown), s.policy.channel("approvals")
    views = RequestViews(s.requests, s.directory, s.notices)
    catch_up = CatchUp(s.shown, Loaders(request=s.requests.get, run=s.runs.get, grant=s.grants.get,
                                        breach=s.breaches.get))
    requests = SlackDelivery(slack, cards, views, approvals=approvals,
                             deciders=list(s.policy.groups_with("request.decide")))
    clubs = ClubDelivery(downloads=s.downloads,  # exports that go to the club's API
                         mailer=make_mailer(s.settings.smtp_url, s.settings.outbox_dir),
                         contact=s.exporter.controller, sender=s.breach_config.sender)
    routed = ByRequester(requests, clubs, deliveries=s.deliveries, club_code=s.exporter.controller)
    presenters = Presenters(routed, BulkSlackDelivery(slack, cards, BulkViews(s.retention, s.bulk, s.notices), approvals),
                            BreachSlackDelivery(slack, cards, BreachViews(s.breaches, s.breach_mail), s.breach_config),
                            catch_up, GrantSlackDelivery(slack, cards, views.masked, approvals), HomeSlackDelivery(slack))
    catch_up.presenters = presenters
    return presenters


def make_slack_client(settings: Settings) -> WebClient:
    url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    from bot.slack_retry import slack_retries
    return WebClient(token=settings.bot_token, base_url=url, timeout=15,
                     retry_handlers=slack_retries())


def build(settings: Settings | None = None, *, broker: dramatiq.Broker | None = None,
          actors: Actors | None = None, slack: WebClient | None = None,
          presenters: Presenters | None = None, queue: JobQueue | None = None) -> Services:
    settings = settings or Settings()
    config = load_config(settings)
    ring = settings.keyring()
    db = Database(settings.database_url)
    system = Database(settings.system_url, immediate=False)
    datamap = config.datamap
    templates = Templates(settings.templates_dir(), config.languages)
    audit = AuditLog(ring.current)
    requests = RequestService(db, audit, ring)
    system_writer = Database(settings.system_url)
    retention = config.retention
    erasure = ErasureEngine(system.engine, datamap, writer=system_writer.engine)
    directory = SubjectDirectory(system.engine, datamap)
    # the Slack copy of an archive is withdrawn by the presenter (the closure reads `services` when called)
    exports = ExportFiles(requests, settings.export_dir, dt.timedelta(days=settings.export_ttl_days),
                          withdraw=lambda req, why: services.presenters.requests.withdraw_file(req, why),
                          store=make_store(settings.export_store, settings.export_dir, endpoint=settings.s3_endpoint_url,
                                           region=settings.s3_region))
    bulk = BulkEngine(system.engine, datamap, erasure, directory, exports,
                      None if settings.smtp_url else settings.outbox_dir)
    policy = config.policy
    grants = GrantService(db, audit, requests.clock)
    authz = Authorizer(policy, db, audit, grants)
    breach_config = config.breaches
    sending_for = send_lease(settings.lease_seconds)  # then a claim of a sender that died is handed out again
    breaches = BreachService(db, audit, breach_config, requests.clock, sending_for=sending_for)
    services = Services(
        settings=settings, db=db, system=system, datamap=datamap, policy=policy, authz=authz,
        find_subjects=FindSubjects(db, audit, authz, directory, requests), reads=AuditedRead(db, audit),
        shown=ShownMessages(db, requests.clock), grants=grants, deliveries=config.deliveries,
        downloads=Downloads(db, audit, ring, requests.clock, dt.timedelta(hours=settings.download_ttl_hours)),
        club_tokens=ClubTokens(db, audit, ring, requests.clock), seen=SeenRequests(db, requests.clock),
        platform_rights=PlatformRights(system_writer.engine, datamap),
        audit=audit, requests=requests,
        directory=directory, retention=retention, bulk=bulk, breach_config=breach_config, breaches=breaches,
        exports=exports,
        breach_mail=BreachMail(breaches, system.engine, datamap, templates,
                               make_mailer(settings.smtp_url, settings.outbox_dir), breach_config,
                               backoff_s=settings.breach_notice_backoff_seconds),
        runs=BulkRuns(db, audit, bulk, requests.clock, dt.timedelta(seconds=settings.lease_seconds)),
        exporter=Exporter(system.engine, datamap, templates, settings.export_dir), templates=templates,
        slack=slack or make_slack_client(settings), broker=broker or make_broker(settings),
        system_writer=system_writer, erasure=erasure, ring=ring,
        notices=NoticeService(db, audit, ring, config.recipients,
                              clock=requests.clock, max_attempts=settings.notice_max_attempts,
                              backoff_s=settings.notice_backoff_seconds, sending_for=sending_for,
                              receives=lambda kind, recipient: {
                                  c for c, spec in datamap.tables[datamap.subject(kind).table].columns.items()
                                  if recipient in spec.recipients}))
    services.actors = actors or declare(services.broker, functools.partial(lambda s: s, services))
    services.queue = queue or services.actors
    return _use_cases(services, presenters or slack_presenters(services))


def worker_jobs(settings: Settings, *, broker: dramatiq.Broker, actors: Actors) -> Services:
    """What a `dramatiq` worker process runs: the job use cases, after claiming the export folder (another
    deployment's is never swept as leftovers) and sweeping what a worker killed on this machine left there."""
    services = build(settings, broker=broker, actors=actors)
    claim_exports(services.db, settings.export_dir)
    services.exports.sweep()
    return services


def _use_cases(services: Services, presenters: Presenters) -> Services:
    """The use cases every entry point calls, on the presenters and the queue."""
    s, queue = services, services.queue
    s.presenters = presenters
    reads = s.reads
    s.subject_requests = SubjectRequests(authz=s.authz, directory=s.directory, requests=s.requests, erasure=s.erasure,
                                         notices=s.notices, presenter=presenters.requests, queue=queue)
    s.purges = Purges(authz=s.authz, retention=s.retention, bulk=s.bulk, runs=s.runs, reads=reads, db=s.db,
                      presenter=presenters.bulk, queue=queue,
                      scheduler_lease=dt.timedelta(seconds=3 * s.settings.reconcile_interval_seconds))
    s.breach_desk = BreachDesk(authz=s.authz, breaches=s.breaches, mail=s.breach_mail, datamap=s.datamap, reads=reads,
                               export_dir=s.settings.export_dir, presenter=presenters.breaches, queue=queue,
                               ring=s.ring)
    s.request_deadlines = RequestDeadlines(authz=s.authz, requests=s.requests,
                                           deadlines=Deadlines(s.db, s.audit, s.requests.clock), datamap=s.datamap,
                                           templates=s.templates, controller=s.exporter.controller,
                                           presenter=presenters.requests)
    from bot.slack_io import SlackUsers  # the workspace's user groups: who holds which role now
    s.rights_desk = RightsDesk(subject_requests=s.subject_requests, rights=s.platform_rights,
                               sealer=s.ring.sealer(INSTRUCTIONS))
    s.certificates = Certificates(requests=s.requests, notices=s.notices, ring=s.ring, delivery=presenters.requests)
    s.club_api = ClubApi(tokens=s.club_tokens, subject_requests=s.subject_requests, downloads=s.downloads,
                         files=s.exports, club_key=s.directory.club_key,
                         refusal_notice=s.request_deadlines.refusal_notice, certify=s.certificates.issue,
                         rights=s.rights_desk)
    s.records = Records(authz=s.authz, reads=reads, templates=s.templates,
                        ropa=RecordOfProcessing(s.db, s.datamap, s.system.engine, s.requests.clock,
                                                keys=lambda: {p: s.ring.public_keys(p) for p in PUBLISHED}))
    s.club_access = ClubAccess(authz=s.authz, tokens=s.club_tokens, club_key=s.directory.club_key)
    s.overview = Overview(db=s.db, staff=SlackUsers(s.slack, s.policy).actor, grants=s.grants, breaches=s.breaches, shown=s.shown,
                          presenter=presenters.home)
    s.consent = ConsentDesk(authz=s.authz, directory=s.directory, subject_requests=s.subject_requests,
                            registry=ConsentRegistry(s.system.engine, s.system_writer.engine, s.datamap))
    s.subject_history = SubjectHistory(authz=s.authz, directory=s.directory, requests=s.requests, reads=reads,
                                       state=s.db, system=s.system.engine, datamap=s.datamap)
    s.access_grants = Grants(authz=s.authz, directory=s.directory, requests=s.requests, grants=s.grants,
                             presenter=presenters.grants)
    s.housekeeping = Housekeeping(requests=s.requests, runs=s.runs, notices=s.notices, breaches=s.breaches,
                                  purges=s.purges, breach_desk=s.breach_desk, access_grants=s.access_grants,
                                  request_deadlines=s.request_deadlines, overview=s.overview, queue=queue, exports=s.exports, owed=presenters.owed,
                                  quiet=dt.timedelta(seconds=s.settings.requeue_after_seconds), clock=s.requests.clock,
                                  club_tokens=s.club_tokens, statements=lambda: s.offboarding_steps().settle_due(),
                                  residue_indexes=s.residue_indexes.keep, certificates=s.certificates.issue_due)
    return s
