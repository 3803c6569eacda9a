# syntax=docker/dockerfile:1
#
# One image for all four Sharaka services. They share every dependency and all of shared/, so a
# single build, a single vulnerability scan and a single tag per release is simpler and safer than
# four near-identical targets; the service is chosen by the command (a module name):
#
#   docker build -t sharaka:dev .
#   docker run --rm sharaka:dev services.irm        # python -m services.irm
#
# Deployments set the command (compose: `command`, Kubernetes: `args`); CMD below only gives a
# default. No HEALTHCHECK here: the HTTP port differs per service (PLANS_HTTP_PORT, IRM_HTTP_PORT...),
# so compose defines one per service and Kubernetes uses its own probes (/healthz, /readyz).

# The base image is pinned to an exact release (not an ARG, not a floating "3.11-slim"): a rebuild
# gets the same Python unless this line changes. Pin the digest too (`@sha256:…`) in the release
# pipeline, where the registry can be asked for it.

# --- build: resolve the locked runtime dependencies into /opt/venv ------------------------------
FROM python:3.11.11-slim-bookworm AS build

ARG UV_VERSION=0.13.8
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

RUN pip install "uv==${UV_VERSION}"

WORKDIR /src
# Only the manifest and the lock: this layer is rebuilt when dependencies change, not on code edits.
COPY pyproject.toml uv.lock ./
# --frozen: install exactly uv.lock, fail rather than re-resolve; --no-dev: no test/lint tools.
# The project itself is not a package ([tool.uv] package = false): only dependencies are installed.
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3

# --- runtime: the venv and the code, nothing else ------------------------------------------------
FROM python:3.11.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="sharaka" \
      org.opencontainers.image.description="Sharaka services (plans, consultation, irm, notifications)" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it without a name lookup.
RUN groupadd --system --gid 10001 sharaka \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin sharaka

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY shared/ shared/
COPY services/ services/
# Byte-compile now, owned by root and read-only for the service user: the root filesystem is
# mounted read-only in Kubernetes, and PYTHONDONTWRITEBYTECODE stops later attempts anyway.
RUN python -m compileall -q shared services

USER 10001:10001

# plans 8001, consultation 8002, irm 8003, notifications 8004 (each service's HTTP_PORT default);
# /healthz, /readyz and /metrics are served on the same port.
EXPOSE 8001 8002 8003 8004

ENTRYPOINT ["python", "-m"]
CMD ["services.plans"]
