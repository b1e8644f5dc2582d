# One image for every process: bot, worker, scheduler, api (the command picks it; see compose.yaml).
# Slim, non-root, exact dependency versions from requirements.lock, each checked against its locked sha256
# (--require-hashes, when downloaded and again when installed); config/ and templates/ ship inside
# the package (mount an edited copy from `gdpr-bot init` and set CONFIG_DIR / TEMPLATES_DIR).
# Two targets: the default (last) one is production and leaves out the Slack stand-in and the synthetic
# gym (`gdpr-bot demo`, `console` and `seed` say so); `--target demo` keeps them (compose.demo.yaml).
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY api/ api/
COPY bootstrap/ bootstrap/
COPY bot/ bot/
COPY config/ config/
COPY devslack/ devslack/
COPY gdpr/ gdpr/
COPY gym/ gym/
COPY templates/ templates/
COPY workers/ workers/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip download --no-cache-dir --require-hashes --only-binary=:all: --dest /wheels -r requirements.lock \
 && cp requirements.lock /wheels/

FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 gdpr \
 && useradd --system --uid 10001 --gid gdpr --home-dir /app --create-home gdpr
WORKDIR /app
ENV PYTHONUNBUFFERED=1 \
    LOG_FORMAT=json \
    EXPORT_DIR=/app/var/exports \
    OUTBOX_DIR=/app/var/outbox \
    BACKUP_DIR=/app/var/backups
# 3000 Slack, 8081 the clubs' API; operations (/readyz, /metrics) listen on 127.0.0.1:9300 and :9301
# inside the container unless OPS_HOST says otherwise (see README, Security).
EXPOSE 3000 8081
ENTRYPOINT ["gdpr-bot"]
CMD ["serve", "--http", "--port", "3000"]

FROM runtime AS demo
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --require-hashes --find-links=/wheels -r /wheels/requirements.lock \
 && pip install --no-cache-dir --no-index --no-deps /wheels/gdpr_ops_bot-*.whl
USER 10001:10001

FROM runtime AS production
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --require-hashes --find-links=/wheels -r /wheels/requirements.lock \
 && pip install --no-cache-dir --no-index --no-deps /wheels/gdpr_ops_bot-*.whl \
 && python -c "import devslack, gym, os, shutil; [shutil.rmtree(os.path.dirname(p.__file__)) for p in (devslack, gym)]"
USER 10001:10001
