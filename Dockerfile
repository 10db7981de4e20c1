# Production image: the web app, the Celery workers and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production

WORKDIR /app
RUN useradd --system --uid 10001 --home /app upvendo

COPY pyproject.toml constraints.txt README.md ./
COPY upvendo ./upvendo
COPY accounts ./accounts
COPY locations ./locations
COPY integrations ./integrations
COPY kassanet ./kassanet
COPY menus ./menus
COPY orders ./orders
COPY tables ./tables
COPY backoffice ./backoffice
COPY incidents ./incidents
COPY manage.py ./
COPY templates ./templates
COPY static ./static
RUN pip install -c constraints.txt . \
    && DJANGO_SECRET_KEY=build CREDENTIALS_ENCRYPTION_KEYS=build DJANGO_ALLOWED_HOSTS=build \
       python manage.py collectstatic --noinput

# Prometheus multiprocess files of every process (a volume shared by web and workers).
RUN mkdir -p /var/run/upvendo-metrics && chown upvendo /var/run/upvendo-metrics

USER upvendo
EXPOSE 8000
CMD ["gunicorn", "upvendo.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
