# syntax=docker/dockerfile:1
# One image for every Herald service and job (docker-compose.yml, docs/deploy.md "The image").
# Its entry point, `herald <command> [args]` (herald_runtime.entrypoint), runs one of them:
#
#   docker build -t herald:dev .
#   docker run herald:dev router                  # ingest | api | router | derive | alerter | recorder
#   docker run herald:dev sender --channel slack  # one sender per channel
#   docker run herald:dev api migrate             # the API's migrations (and its admin commands)
#   docker run herald:dev topics apply --file /app/deploy/topics.yaml --bootstrap-servers kafka:9092
#   docker run herald:dev ops --help              # the operators' commands
#   docker run herald:dev webhook-sink --port 9000 --dir /tmp/webhooks   # a receiver for trials
#
# `herald` execs `python -m <module>`, so the service is the container's main process and gets
# SIGTERM itself (it drains and commits within the stop grace period). Services listen on 8080.
#
# The workspace is installed into /app/.venv as uv.lock pins it (--frozen, no dev group). Its own
# packages stay editable under /app, the same layout as a checkout, so the paths the code derives
# from its own location (e.g. deploy/topics.yaml) hold in the image too.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /app

# Third-party dependencies first, in their own layer: it changes only when uv.lock does.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

COPY libs/ ./libs/
COPY services/ ./services/
COPY deploy/topics.yaml ./deploy/topics.yaml
# `schema[s]` rather than `schemas/`: BuildKit lets a wildcard match nothing, so the build does not
# depend on the folder existing yet.
COPY schema[s] ./schemas/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
    && python -m compileall -q libs services


FROM ${PYTHON_IMAGE} AS runtime

RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin herald

COPY --from=build /app /app

WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HERALD_TOPIC_FILE=/app/deploy/topics.yaml

USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["herald"]
CMD ["--help"]
