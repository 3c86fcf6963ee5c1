# The digest image: the scheduler and the web app run from it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md constraints.txt ./
COPY digest ./digest
# The versions CI tested (constraints.txt, written by `make lock`): a rebuild installs the same ones.
RUN pip install --no-cache-dir -c constraints.txt '.[postgres,meaning]'

COPY config ./config
COPY content ./content

# The database, the outbox and the feed cache live on the volume mounted here.
RUN useradd --create-home --uid 1000 digest && mkdir -p /data && chown digest /data
USER digest
VOLUME ["/data"]

ENTRYPOINT ["digest"]
CMD ["schedule"]
