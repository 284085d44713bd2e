# gatehouse serve in a container.
#
#   docker build -t gatehouse .
#   docker run -p 8080:8080 -v gatehouse-data:/data gatehouse
#   docker run -p 8080:8080 -v gatehouse-data:/data -v "$PWD/policies/ai-agent-actions:/policies:ro" gatehouse
#
# State (the SQLite database and the gate's signing key) lives in the /data
# volume; the policy set is read from /policies (the shipped reference set
# unless one is mounted there). One replica per /data volume: SQLite takes
# one writer (docs/service-operations.md, "Deployment").

# ---- build -------------------------------------------------------------
# rust:1-slim on the runtime's Debian release: a binary linked against a
# newer glibc (rust:1-slim follows Debian's newest) would not start on
# bookworm.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
# The whole workspace: every [[test]]/[[bench]] the manifest names must
# exist for cargo to read it (.dockerignore drops target/, .git and fuzz/).
COPY . .
RUN cargo build --release --locked --bin gatehouse \
 && cp target/release/gatehouse /usr/local/bin/gatehouse \
 && rm -rf target

# ---- run ---------------------------------------------------------------
FROM debian:bookworm-slim
# curl: the health check only. ca-certificates: https webhook receivers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid gatehouse --home-dir /data --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /data /policies \
 && chown gatehouse:gatehouse /data
COPY --from=build /usr/local/bin/gatehouse /usr/local/bin/gatehouse
COPY policies/ai-agent-actions /policies
USER gatehouse:gatehouse
VOLUME ["/data"]
EXPOSE 8080
# JSON logs for log collectors; GATEHOUSE_LOG sets the level (info).
ENV GATEHOUSE_LOG_FORMAT=json \
    GATEHOUSE_LOG=info
# /ready is 503 while draining (SIGTERM) or when the database does not
# answer; /health stays 200 with "degraded" after a refused reload.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/ready || exit 1
# SIGTERM (docker stop) drains requests in flight, then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["gatehouse", "serve"]
CMD ["--policy", "/policies", "--data-dir", "/data", "--listen", "0.0.0.0:8080"]
