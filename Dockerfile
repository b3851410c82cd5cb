# One image for every Xuewen process (web, workers, beat); docker-compose.yml picks the command.

# The front-end libraries from the npm registry (package-lock.json), used as they are.
FROM node:22-bookworm-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg fonts-noto-cjk gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
COPY . .
COPY --from=frontend /app/node_modules ./node_modules
RUN pip install . && DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 xuewen && mkdir -p /app/var && chown xuewen /app/var
USER xuewen
EXPOSE 8000
CMD ["python", "-m", "config.web", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
