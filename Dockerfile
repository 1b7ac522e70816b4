# syntax=docker/dockerfile:1
# Two images from one file:
#   --target app     the dashboard for a team server (`artemis serve` on port 5006; deploy/compose.yaml);
#   (default) runner the image of SageMaker Processing jobs, below.
#
# The runner image for SageMaker Processing jobs: `python -m jobs.entrypoint` runs one job (a training
# run or a cross-validation fold) from /opt/ml/processing/input/{spec,data}/ into
# /opt/ml/processing/output/ (see jobs/entrypoint.py; jobs/sagemaker_runner.py submits the jobs).
#
# Build and push to ECR (the pushed URI is the `image_uri` of the SageMaker settings):
#   ACCOUNT=123456789012 REGION=us-east-1 NAME=artemis TAG=$(git rev-parse --short HEAD)
#   REGISTRY=$ACCOUNT.dkr.ecr.$REGION.amazonaws.com
#   aws ecr create-repository --repository-name $NAME --region $REGION        # once
#   aws ecr get-login-password --region $REGION | docker login --username AWS --password-stdin $REGISTRY
#   docker build --platform linux/amd64 -t $REGISTRY/$NAME:$TAG .            # ml.* instances are x86-64
#   docker push $REGISTRY/$NAME:$TAG
# Try a job locally: put spec.json in scratch/input/spec/ and a dataset in scratch/input/data/, then
#   docker run --rm -v "$PWD/scratch:/opt/ml/processing" $REGISTRY/$NAME:$TAG

FROM python:3.12-slim AS base

# g++: PyTensor compiles parts of the PyMC model to C (without a compiler it falls back to slow Python).
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir uv==0.13.9

ENV UV_PYTHON=/usr/local/bin/python3.12 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app

# The locked dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# ---------------------------------------------------------------------------------------------------
# The dashboard: the project installed in place (it serves panel_serve.py and assets/ from /app).
#   docker build --target app -t artemis-app .
#   docker run -p 5006:5006 -v artemis-data:/data -e ARTEMIS_AUTH=basic ... artemis-app
FROM base AS app
COPY README.md panel_serve.py ./
COPY jobs/ jobs/
COPY store/ store/
COPY artemis_panel/ artemis_panel/
COPY assets/ assets/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH" \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    ARTEMIS_DATA_DIR=/data
VOLUME /data
EXPOSE 5006
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:5006/health', timeout=8).status != 200)"
ENTRYPOINT ["artemis", "serve", "--address", "0.0.0.0", "--port", "5006"]

# ---------------------------------------------------------------------------------------------------
# The SageMaker runner (the default target).
FROM base AS runner
# Then the project itself (README.md: pyproject's `readme`, needed to build it), installed as a wheel.
COPY README.md ./
COPY jobs/ jobs/
COPY store/ store/
COPY artemis_panel/ artemis_panel/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

ENV PATH="/app/.venv/bin:$PATH" \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    TQDM_DISABLE=1

ENTRYPOINT ["python", "-m", "jobs.entrypoint"]
