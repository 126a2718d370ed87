# weir in a container: `weir daemon` runs every job file in /etc/weir/jobs.d, checkpoints in /var/lib/weir.
#   docker build -t weir .
#   docker run -v $PWD/jobs:/etc/weir/jobs.d:ro -v weir-state:/var/lib/weir -p 127.0.0.1:9464:9464 weir
# The build stage uses the same steps as the README: scripts/setup.sh build, then the release preset.
# See docs/operations.md ("Docker").

FROM debian:bookworm AS build
WORKDIR /src
# The package list first, so that the dependency layer is rebuilt only when setup.sh changes.
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake --preset release >/dev/null \
 && cmake --build --preset release --target weir \
 && strip -o /weir build/release/cmd/weir \
 && /weir version

FROM debian:bookworm-slim
# Runtime libraries of the build stage's -dev packages (scripts/setup.sh), and curl for the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libyaml-cpp0.7 libpqxx-6.4 libpq5 libre2-9 libspdlog1.10 libfmt9 libcpp-httplib0.11 \
      libsystemd0 libjemalloc2 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 weir \
 && useradd --system --uid 10001 --gid weir --home-dir /var/lib/weir --shell /usr/sbin/nologin weir \
 && mkdir -p /etc/weir/jobs.d /var/lib/weir \
 && chown weir:weir /var/lib/weir && chmod 0700 /var/lib/weir
COPY --from=build /weir /usr/bin/weir
COPY jobs/demo.yaml /usr/share/weir/examples/demo.yaml

USER weir:weir
ENV WEIR_STATE_DIR=/var/lib/weir
VOLUME ["/etc/weir/jobs.d", "/var/lib/weir"]
EXPOSE 9464
# The metrics port listens on every interface inside the container (publish it to 127.0.0.1 on the host).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9464/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/weir", "daemon"]
CMD ["--jobs", "/etc/weir/jobs.d", "--state-dir", "/var/lib/weir", "--metrics", "0.0.0.0:9464", "--stop-timeout", "30s"]
