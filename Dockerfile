# Two images from one file:
#   runtime  production: the locked runtime dependencies and the code, read-only for the
#            unprivileged user that runs it (only var/ is writable)
#   dev      the compose development stack: every dependency (tests, lint) and make; the source
#            is bind-mounted from the host and runs as the owner of the checkout
#
# Behind a corporate proxy or mirror, pass build args: PIP_INDEX_URL, PIP_TRUSTED_HOST,
# EXTRA_CA_CERTS (PEM text of CAs to trust while installing), and Docker's own HTTP_PROXY,
# HTTPS_PROXY and NO_PROXY. They are used by the build stages only and are not kept in the
# images.

FROM python:3.11.11-slim-bookworm AS base
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000
WORKDIR /app

# Runtime dependencies, hash-checked from poetry.lock, in a virtualenv.
FROM base AS deps
ARG PIP_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG EXTRA_CA_CERTS=""
WORKDIR /build
COPY pyproject.toml poetry.lock ./
COPY scripts/lock_requirements.py scripts/
COPY docker/pip-install.sh ./
RUN python scripts/lock_requirements.py --no-dev > runtime.txt \
    && python scripts/lock_requirements.py > all.txt \
    && python -m venv /opt/venv \
    && ./pip-install.sh runtime.txt

# The runtime's virtualenv: no pip or setuptools left behind.
FROM deps AS runtime-venv
RUN /opt/venv/bin/python -m pip uninstall --yes --quiet setuptools pip

# The development virtualenv: the dev dependencies too.
FROM deps AS dev-venv
ARG PIP_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG EXTRA_CA_CERTS=""
# The lock the venv was built from: `make` in the container checks it instead of timestamps.
RUN ./pip-install.sh all.txt \
    && sha256sum poetry.lock > /opt/venv/.lock-sha256

FROM base AS runtime
ENV APP_ENV=production
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
COPY --from=runtime-venv /opt/venv /opt/venv
COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN python -m compileall -q app alembic \
    && mkdir var && chown app:app var
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "app", "healthcheck"]
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0"]

FROM base AS dev
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends make sudo \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --home-dir /home/app --create-home --shell /bin/bash app
COPY --from=dev-venv /opt/venv /opt/venv
COPY docker/dev-entrypoint.sh docker/as-checkout-owner.sh /usr/local/bin/
COPY docker/sudoers /etc/sudoers.d/app
RUN chmod 0440 /etc/sudoers.d/app
# Make's targets use this virtualenv instead of ./.venv.
ENV VENV=/opt/venv
# By name: `docker compose exec` looks `app` up when it runs, after the entrypoint gave it the
# checkout owner's uid.
# hadolint ignore=DL3066
USER app
EXPOSE 8000
ENTRYPOINT ["dev-entrypoint.sh"]
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "app", "healthcheck"]
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--reload"]
