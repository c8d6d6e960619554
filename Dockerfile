# The fleetlog binary for the production-like topology of docker-compose.yml.
# Every service runs this image with a different subcommand.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin fleetlog

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 fleetlog
COPY --from=build /src/target/release/fleetlog /usr/local/bin/fleetlog
USER fleetlog
ENV FLEETLOG_LOG__JSON=true
EXPOSE 8080 8081 5023 5027 5028
ENTRYPOINT ["fleetlog"]
CMD ["up"]
