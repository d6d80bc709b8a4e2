# sociale-kaart API image (production mode: PostgreSQL + Meilisearch via docker compose).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/sociale-kaart

COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY search ./search
COPY importers ./importers
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install -c constraints.txt . \
 && useradd --system --uid 10001 --home /srv/sociale-kaart sk \
 && mkdir -p /srv/sociale-kaart/var && chown sk /srv/sociale-kaart/var
USER sk

ENV ENVIRONMENT=production
# glibc keeps a malloc arena per thread (up to 8 per core) and rarely gives freed memory
# back; with the thread pool that let a server's RSS creep up by tens of MiB over minutes
# without any leak (docs/reliability.md, "Soak"). Two arenas keep it flat.
ENV MALLOC_ARENA_MAX=2
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"
# Migrations run before the server starts; replicas that start at once wait for each other
# (migrations/env.py holds a PostgreSQL advisory lock during the upgrade).
CMD ["sh", "-c", "sociale-kaart db upgrade && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-2} --no-access-log --no-server-header"]
