# agentforge itself (CLI + web page) in a container. It drives the HOST's Docker engine
# through the mounted socket to create sandboxes; agent code still runs only in those
# sandboxes, never in this container. Build it as the sandbox images are built (a local
# Debian base when no registry is reachable, the host's CA for pip):
#   agentforge images build agentforge
# or by hand: docker build --build-arg BASE_IMAGE=agentforge/base:trixie -t agentforge/agentforge .
# (a CA bundle saved as build-ca.pem next to this file is used by pip). How to run it, and
# what the socket mount means: README.md, "Running agentforge itself in a container".
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}
COPY . /src/agentforge
RUN if [ -s /src/agentforge/build-ca.pem ]; then export PIP_CERT=/src/agentforge/build-ca.pem; fi \
 && python -m venv /opt/agentforge/venv \
 && /opt/agentforge/venv/bin/pip install --no-cache-dir --disable-pip-version-check /src/agentforge \
 && cp -r /src/agentforge/examples /opt/agentforge/examples \
 && rm -rf /src/agentforge \
 && (command -v git >/dev/null || (apt-get update && apt-get install -y --no-install-recommends git \
      && rm -rf /var/lib/apt/lists/*))
# The folders of the sandboxes' sockets live under /tmp/agentforge (TMPDIR): mount it from
# the host at the SAME path, because the engine resolves the sandboxes' mounts on the host.
# Runs go under /runs (mount a host folder there).
ENV PATH=/opt/agentforge/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp/agentforge
RUN mkdir -p /tmp/agentforge /runs
WORKDIR /runs
ENTRYPOINT ["agentforge"]
CMD ["--help"]
