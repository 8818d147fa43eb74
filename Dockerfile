# syntax=docker/dockerfile:1.7
# Operator and forecaster images (multi-stage, non-root). The trainer image has its own
# Dockerfile in trainer-image/ (CUDA base).
#   docker build --target operator   -t cenas/operator:dev .
#   docker build --target forecaster -t cenas/forecaster:dev .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin cenas

# --- operator -------------------------------------------------------------------------------
FROM base AS operator-build
WORKDIR /src
COPY spaces/ spaces/
COPY operator/ operator/
# No torch: the operator runs the policy with numpy only; [train] extras stay out of the image.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install ./spaces ./operator

FROM base AS operator
COPY --from=operator-build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
USER 10001:10001
EXPOSE 8080 9090
# `kopf run --standalone -m cenas_operator.main` in-process, exec form (PID 1 gets SIGTERM), watching
# CENAS_NAMESPACES (empty: all). --standalone: one replica, no peering objects. Arguments go to kopf: the
# chart adds --liveness=http://0.0.0.0:<healthPort>/healthz.
ENTRYPOINT ["python", "-m", "cenas_operator"]

# --- forecaster -----------------------------------------------------------------------------
FROM base AS forecaster-build
WORKDIR /src
# Point TORCH_INDEX_URL at a CPU-only wheel index to keep the image small.
ARG TORCH_INDEX_URL=""
COPY forecaster/ forecaster/
RUN python -m venv /opt/venv \
 && if [ -n "$TORCH_INDEX_URL" ]; then /opt/venv/bin/pip install --index-url "$TORCH_INDEX_URL" torch==2.15.0; fi \
 && /opt/venv/bin/pip install ./forecaster

FROM base AS forecaster
COPY --from=forecaster-build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["python", "-m", "cenas_forecaster", "serve", "--host", "0.0.0.0", "--port", "8080"]
