# syntax=docker/dockerfile:1
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

FROM python:3.12-slim

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
