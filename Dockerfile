# One image for web, workers and beat. Build the console first (node stage), then Python.
FROM node:20-bookworm-slim AS console
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 EXEML_HOME=/var/lib/exeml \
    OMP_WAIT_POLICY=PASSIVE ORT_DISABLE_TELEMETRY=1 HF_HUB_OFFLINE=1 YOLO_OFFLINE=1 YOLO_AUTOINSTALL=0
RUN apt-get update && apt-get install -y --no-install-recommends libsndfile1 libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY exeml exeml
COPY projects projects
COPY datasets datasets
COPY labeling labeling
COPY training training
COPY serving serving
COPY manage.py ./
COPY clients/python clients/python
RUN pip install --no-cache-dir ./clients/python ".[ml]"
COPY --from=console /src/frontend/dist /app/frontend/dist
EXPOSE 8000
CMD ["gunicorn", "exeml.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "8", "--worker-class", "exeml.web_worker.KeepAliveThreadWorker"]
