# syntax=docker/dockerfile:1
# ragd (default target) and loadgen images, for machines that reach a
# registry: the toolchain and the runtime base are pulled. Machines that do
# not use compose/build-image.sh instead (the same image, from a binary
# built on the host). docs/DEPLOY.md, "Images".
#
#   docker build -t ragkit/ragd:0.1.0 .
#   docker build --target loadgen -t ragkit/loadgen:0.1.0 .
#
# Stage 1 compiles both programs; the runtime stages hold one binary on a
# distroless base (glibc, libgcc, libssl, CA certificates; no shell, no
# package manager), run as the numeric user 10001, which owns /data.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds; the
# binaries are copied out of the cache into /out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p ragd -p loadgen \
 && mkdir -p /out /rootfs/data \
 && cp target/release/ragd target/release/loadgen /out/ \
 && chown 10001:10001 /rootfs/data

# loadgen, e.g. for the Kubernetes Indexed Job (k8s/overlays/scale-out).
FROM gcr.io/distroless/cc-debian12:nonroot AS loadgen
COPY --from=build /out/loadgen /loadgen
USER 10001:10001
ENTRYPOINT ["/loadgen"]

# ragd: the last stage, so the default target.
FROM gcr.io/distroless/cc-debian12:nonroot AS ragd
COPY --from=build /out/ragd /ragd
COPY --from=build --chown=10001:10001 /rootfs/data /data
# Settings by environment, never flags, so every one stays overridable
# (RAGD_SECTION__KEY, docs/CONFIGURATION.md).
ENV RAGD_SERVER__LISTEN=0.0.0.0:8080 \
    RAGD_STORAGE__DATA_DIR=/data
# 8080 the API; 9091 the admin port when RAGD_SERVER__ADMIN_LISTEN is set
# (never publish it).
EXPOSE 8080 9091
USER 10001:10001
# ragd's own client (no shell or curl here): exit 0 when /ready answers 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["/ragd", "probe", "--ready"]
ENTRYPOINT ["/ragd"]
CMD ["serve"]
