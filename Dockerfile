# syntax=docker/dockerfile:1
# The StreamGuard worker image; `docker compose up` builds it from this file (see docker-compose.yml). Needs BuildKit
# (Docker's default builder since Engine 23) for the RUN --mount of the smoke test below.
#
# A release build says what it is, in the OCI labels and in `streamguard --version`:
#   docker build --build-arg VERSION=1.2.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg SOURCE_URL="$(git remote get-url origin)" -t streamguard:1.2.0 .
# The image holds no policy and no key: mount them (docker-compose.yml, deploy/kubernetes) and point `run` at them.

# Stage 1: restore and publish with the SDK (restore is cached while only sources change). The SDK's Ubuntu 24.04 is
# the runtime image's release, so what is built here is what runs there.
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ARG VERSION
ARG REVISION
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Directory.Build.props src/
COPY src/StreamGuard.Core/StreamGuard.Core.csproj src/StreamGuard.Core/
COPY src/StreamGuard.Kafka/StreamGuard.Kafka.csproj src/StreamGuard.Kafka/
COPY src/StreamGuard.Kafka.Embedded/StreamGuard.Kafka.Embedded.csproj src/StreamGuard.Kafka.Embedded/
COPY src/StreamGuard.Cli/StreamGuard.Cli.csproj src/StreamGuard.Cli/
RUN dotnet restore src/StreamGuard.Cli/StreamGuard.Cli.csproj
COPY src/ src/
# BundleSamples=false: the sample policy and its published demo keys are not part of the output (the dotnet tool
# bundles them for `demo`; a worker image must not). VERSION and REVISION, when given, become the assembly's version
# and the commit after its '+'. Only the Linux builds of librdkafka are kept (the image is Linux on amd64 or arm64;
# Confluent.Kafka looks a library up by name for the running platform only).
RUN dotnet publish src/StreamGuard.Cli/StreamGuard.Cli.csproj -c Release --no-restore -o /app -p:BundleSamples=false \
        ${VERSION:+-p:Version=$VERSION} ${REVISION:+-p:SourceRevisionId=$REVISION} \
    && rm -rf /app/runtimes/win-* /app/runtimes/osx-* \
    && test ! -e /app/samples

# Stage 2: ASP.NET Core on Ubuntu's chiseled 24.04 (run serves /metrics, /healthz and /readyz with Kestrel): no
# shell, no package manager, only glibc, libstdc++, OpenSSL, CA certificates and the .NET runtime; runs as the
# non-root user app (1654) the base image defines. No ICU and no tzdata: the worker runs with invariant
# globalization and reads no time zone (every time is UTC).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled
ARG VERSION
ARG REVISION
ARG SOURCE_URL
LABEL org.opencontainers.image.title="StreamGuard" \
      org.opencontainers.image.description="Policy enforcement point for licence-plate-reader data on Kafka: the streamguard worker" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION:-unreleased}" \
      org.opencontainers.image.revision="${REVISION:-unknown}" \
      org.opencontainers.image.source="${SOURCE_URL:-unknown}" \
      org.opencontainers.image.base.name="mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled"
# Copied before WORKDIR: a directory COPY creates belongs to root, so the user app can read its binaries and change
# none of them (WORKDIR would create /app as the base image's current user, app).
COPY --from=build /app /app
WORKDIR /app
USER 1654:1654
# librdkafka: Confluent.Kafka ships two glibc builds. The default one needs libsasl2.so.3, which Debian and Ubuntu do
# not have (they ship libsasl2.so.2, and the chiseled image no SASL library at all); Confluent.Kafka then loads its
# "centos8" build, which needs nothing but glibc (OpenSSL, zstd, lz4 and SASL PLAIN/SCRAM/OAUTHBEARER linked in; no
# Kerberos). Checked here at build time, in this very stage — same libraries, same non-root user: the demo starts
# librdkafka's embedded cluster and runs the worker end to end, so an image that cannot load librdkafka is never
# built. The chiseled image has no shell, hence the exec form; the demo's policy and keys are bound from the build
# context for this one step only and /tmp is a tmpfs, so neither keys nor demo output end up in a layer.
RUN --mount=type=bind,source=samples,target=/app/samples \
    --mount=type=tmpfs,target=/tmp \
    ["dotnet", "/app/streamguard.dll", "demo", "--reads", "2000", "--out", "/tmp/smoke"]
EXPOSE 9464
ENTRYPOINT ["dotnet", "/app/streamguard.dll"]
CMD ["run"]
