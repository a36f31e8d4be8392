# One image for every Tilt process; the command picks which (compose.yaml runs serve, worker, scheduler).
#
#   docker build -t tilt .
#   docker run --env-file .env -e REDIS_URL=redis://... -p 3000:3000 tilt                  the web process
#   docker run --env-file .env -e REDIS_URL=redis://... tilt python bot.py worker         a worker

FROM python:3.11-slim AS build
# A compiler, only for a dependency that has no wheel for the build's platform (pip prefers wheels).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/tilt
ENV PATH=/opt/tilt/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The dependencies first, from pyproject.toml alone, so that a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
# Then Tilt itself, as pyproject.toml declares it (its modules and packages, jobs/ included).
COPY . .
RUN pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/tilt/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 TILT_STATE_DIR=/data PORT=3000
RUN useradd --create-home --uid 10001 tilt && mkdir /data && chown tilt /data
COPY --from=build /opt/tilt /opt/tilt
WORKDIR /app
# The code stays owned by root: the tilt user can read it, not change it; it writes only to /data and its home.
COPY . .
USER tilt
# matplotlib's font cache, built once here rather than by every new container's first chart.
RUN python -c "import matplotlib.pyplot"
EXPOSE 3000
CMD ["python", "bot.py", "serve"]
