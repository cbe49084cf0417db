# streamsre as a container: `docker build -t streamsre .`, then `docker run streamsre consume`.
# Every flag reads an environment variable (`streamsre <command> --help` names them), so a
# deployment configures it with env alone; see deploy/compose and deploy/k8s.

# Build: the release binary. librdkafka is built from source by rdkafka-sys (make, gcc, perl)
# and links the system OpenSSL (TLS and SASL/SCRAM towards the brokers).
FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential perl pkg-config libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (.dockerignore keeps target/, the local stack's data and the rest
# out of the context).
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY migrations migrations
COPY examples examples
RUN cargo build --release --locked --bin streamsre \
 && strip target/release/streamsre

# Run: a slim base with the three shared libraries the binary links (libssl, libcrypto, libz)
# and CA certificates for TLS brokers, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin streamsre
COPY --from=build /src/target/release/streamsre /usr/local/bin/streamsre
# The shipped mappings, for MAPPING_FILE=/usr/share/streamsre/examples/… (reviews is built in).
COPY examples /usr/share/streamsre/examples
USER 10001:10001
# /healthz, /readyz and /metrics listen on all interfaces inside a container; the profile
# endpoints stay on loopback (DEBUG_ADDR) unless a deployment opens them.
ENV METRICS_ADDR=0.0.0.0:2112 \
    LOG_FORMAT=json
EXPOSE 2112
ENTRYPOINT ["/usr/local/bin/streamsre"]
CMD ["consume"]
