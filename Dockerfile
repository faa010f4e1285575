# Taskforce web, worker and beat image (see docker-compose.yml).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint's native libraries and a font for the PDFs; psycopg ships its own libpq (psycopg[binary]).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code stays root-owned and read-only to the app; it writes only collected static files and private uploads.
RUN groupadd --system --gid 10001 taskforce \
    && useradd --system --uid 10001 --gid taskforce --home-dir /app --no-create-home taskforce \
    && mkdir -p /app/staticfiles /data/private \
    && chown taskforce:taskforce /app/staticfiles /data/private
COPY . .

ENV STATIC_ROOT=/app/staticfiles \
    PRIVATE_MEDIA_ROOT=/data/private \
    DEBUG=0

USER taskforce
EXPOSE 8000
CMD ["gunicorn", "taskforce.wsgi", "-w", "2", "-b", "0.0.0.0:8000"]
