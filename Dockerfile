# From source, for users with a registry:  docker build -t keepvip .
# Without a registry (as in CI), scripts/build-image builds the binary on the host and
# uses Dockerfile.prebuilt instead; the final image is the same.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu \
 && cp target/x86_64-unknown-linux-gnu/release/keepvip /keepvip

FROM scratch
COPY --from=build /keepvip /keepvip
LABEL org.opencontainers.image.title="keepvip" \
      org.opencontainers.image.description="One highly available virtual IP with VRRP; drop-in for osixia/keepalived" \
      org.opencontainers.image.licenses="MIT"
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD ["/keepvip", "--health"]
ENTRYPOINT ["/keepvip"]
