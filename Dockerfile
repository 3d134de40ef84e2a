# Sluice container image: a Swift builder stage and a slim Debian runtime.
#
#   docker build -t sluice .
#   docker run --rm -i sluice < app.log                      # stdin -> console
#   docker run --rm -v $PWD/sluice.yaml:/etc/sluice/sluice.yaml sluice
#
# The binary links the Swift standard library and Foundation statically
# (--static-swift-stdlib), so the runtime needs only glibc, libstdc++, zlib, libdeflate, PCRE2
# and CA certificates.
# The build command is the one .ci/run builds on every push.

FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zlib1g-dev libdeflate-dev libpcre2-dev \
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

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zlib1g libdeflate0 libpcre2-8-0 libstdc++6 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin sluice \
    && install -d -o sluice -g sluice /var/log/sluice /var/run/sluice
COPY --from=build /out/sluice /usr/local/bin/sluice
COPY Config/sluice.yaml /etc/sluice/sluice.yaml
USER 10001:10001
# In a container the metrics port must be reachable from outside its network namespace
# (Prometheus, the kubelet's probes); a deploy moves it with SLUICE_METRICS_ADDRESS.
ENV SLUICE_CONFIG=/etc/sluice/sluice.yaml \
    SLUICE_METRICS_ADDRESS=0.0.0.0:9880
EXPOSE 9880
# Sluice handles SIGTERM itself (drains, then exits 0) and reaps orphans in wrap mode, so no
# init shim is needed in front of it.
ENTRYPOINT ["/usr/local/bin/sluice"]
