# From source, one image per platform: docker buildx build --platform linux/amd64,linux/arm64 .
# The binary is cross-built on the build machine's own platform (no emulation): static glibc,
# as the tested x86_64 image, so both architectures run the same C library code.
# Without a registry (as in CI), scripts/build-image builds the binary on the host and uses
# Dockerfile.prebuilt instead; the final image is the same.
FROM --platform=$BUILDPLATFORM rust:1-bookworm AS build
ARG TARGETARCH
WORKDIR /src
# The Rust target and C cross toolchain of the platform asked for.
RUN case "$TARGETARCH" in \
      amd64) echo x86_64-unknown-linux-gnu > /target ;; \
      arm64) echo aarch64-unknown-linux-gnu > /target \
             && apt-get update \
             && apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu=4:12.2.0-3 libc6-dev-arm64-cross=2.36-8cross1 \
             && rm -rf /var/lib/apt/lists/* ;; \
      *) echo "keepvip: no Rust target for TARGETARCH=$TARGETARCH (amd64 and arm64 are built)" >&2; exit 1 ;; \
    esac \
 && rustup target add "$(cat /target)"
COPY . .
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
RUN RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
    cargo build --release --locked --target "$(cat /target)" \
 && cp "target/$(cat /target)/release/keepvip" /keepvip

FROM scratch
COPY --from=build /keepvip /keepvip
LABEL org.opencontainers.image.title="keepvip" \
      org.opencontainers.image.description="One highly available virtual IP with VRRP; drop-in for osixia/keepalived" \
      org.opencontainers.image.licenses="MIT"
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD ["/keepvip", "--health"]
ENTRYPOINT ["/keepvip"]
