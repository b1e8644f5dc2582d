# One image for every process: bot, worker, scheduler, api (the command picks it; see compose.yaml).
# Slim, non-root, exact dependency versions from requirements.lock; config/ and templates/ ship inside
# the package (mount an edited copy from `gdpr-bot init` and set CONFIG_DIR / TEMPLATES_DIR).
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
 && pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.lock \
 && cp requirements.lock /wheels/

FROM python:3.11-slim
RUN groupadd --system --gid 10001 gdpr \
 && useradd --system --uid 10001 --gid gdpr --home-dir /app --create-home gdpr
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels -r /wheels/requirements.lock \
 && pip install --no-cache-dir --no-index --no-deps /wheels/gdpr_ops_bot-*.whl \
 && rm -rf /wheels
USER 10001:10001
WORKDIR /app
ENV PYTHONUNBUFFERED=1 \
    LOG_FORMAT=json \
    EXPORT_DIR=/app/var/exports \
    OUTBOX_DIR=/app/var/outbox \
    BACKUP_DIR=/app/var/backups
EXPOSE 3000 8081 9191
ENTRYPOINT ["gdpr-bot"]
CMD ["serve", "--http", "--port", "3000"]
