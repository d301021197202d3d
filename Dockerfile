# agentforge itself (CLI + web page) in a container. It drives the HOST's Docker engine
# through the mounted socket to create sandboxes; agent code still runs only in those
# sandboxes, never in this container. Run it with:
#   docker run --rm -it -v /var/run/docker.sock:/var/run/docker.sock \
#     -v "$PWD/runs:/runs" agentforge doctor
# (Mounting the socket gives this container control of the engine: run only this image
# with it, never a sandbox.)
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}
COPY . /src/agentforge
RUN python -m venv /opt/agentforge \
 && /opt/agentforge/bin/pip install --no-cache-dir /src/agentforge \
 && rm -rf /src/agentforge
ENV PATH=/opt/agentforge/bin:$PATH
WORKDIR /runs
ENTRYPOINT ["agentforge"]
CMD ["--help"]
