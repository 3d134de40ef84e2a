# Sluice container image: the stripped binary, the shared libraries it links, CA certificates
# and an unprivileged user, on an empty base: no shell, no package manager (about 37 MB).
#
#   docker build -t sluice .                    # builds the binary in a Swift builder stage
#   docker run --rm -i sluice < app.log          # stdin -> console
#   docker run --rm -v $PWD/sluice.yaml:/etc/sluice/sluice.yaml sluice
#
# With a binary already built by the README's first command (`.build/sluice`, stripped), the
# builder stage is skipped (CI builds the image this way, with podman, offline):
#
#   docker build --build-arg SLUICE_BINARY_FROM=prebuilt -t sluice .
#
# The binary links the Swift standard library statically (--static-swift-stdlib) and no
# Foundation, so the runtime needs only glibc, libstdc++, zlib, libdeflate, PCRE2, libyaml and
# CA certificates.
ARG SLUICE_BINARY_FROM=build

FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zlib1g-dev libdeflate-dev libpcre2-dev libyaml-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is reused while only Sources/ changes. Package.resolved pins
# the versions CI tested.
COPY Package.swift Package.resolved ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --static-swift-stdlib --product sluice \
    && install -D "$(swift build -c release --static-swift-stdlib --show-bin-path)/sluice" /out/sluice \
    && strip /out/sluice

# The binary the README's first command made (stripped), instead of the builder stage's.
FROM debian:bookworm-slim AS prebuilt
COPY .build/sluice /out/sluice

FROM ${SLUICE_BINARY_FROM} AS binary

# The runtime's files, gathered from Debian's packages into /rootfs: the libraries the binary
# names (ldd) with the loader, CA certificates, and passwd/group entries for uid 10001. The
# packages are installed only when missing, so a base image that has them builds offline.
FROM debian:bookworm-slim AS runtime-files
ARG RUNTIME_PACKAGES="libc-bin zlib1g libdeflate0 libpcre2-8-0 libyaml-0-2 libstdc++6 libgcc-s1 ca-certificates"
RUN dpkg -s $RUNTIME_PACKAGES >/dev/null 2>&1 || { apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $RUNTIME_PACKAGES \
        && rm -rf /var/lib/apt/lists/*; }
COPY --from=binary /out/sluice /rootfs/usr/local/bin/sluice
COPY Config/sluice.yaml /rootfs/etc/sluice/sluice.yaml
RUN set -e; \
    for library in $(ldd /rootfs/usr/local/bin/sluice | grep -o '/[^ ]*'); do \
        cp --parents -L "$library" /rootfs; \
    done; \
    cp --parents -L /etc/ssl/certs/ca-certificates.crt /rootfs; \
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nsluice:x:10001:10001:sluice:/nonexistent:/usr/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nsluice:x:10001:\n' > /rootfs/etc/group; \
    printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
    install -d -m 1777 /rootfs/tmp; \
    install -d -o 10001 -g 10001 /rootfs/var/log/sluice /rootfs/var/run/sluice /rootfs/var/lib/sluice

FROM scratch
COPY --from=runtime-files /rootfs/ /
USER 10001:10001
# In a container the metrics port must be reachable from outside its network namespace
# (Prometheus, the kubelet's probes); a deploy moves it with SLUICE_METRICS_ADDRESS.
ENV SLUICE_CONFIG=/etc/sluice/sluice.yaml \
    SLUICE_METRICS_ADDRESS=0.0.0.0:9880 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 9880
# Sluice handles SIGTERM itself (drains, then exits 0) and reaps orphans in wrap mode, so no
# init shim is needed in front of it.
ENTRYPOINT ["/usr/local/bin/sluice"]
