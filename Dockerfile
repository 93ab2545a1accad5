# The StreamGuard worker image; `docker compose up` builds it from this file (see docker-compose.yml).
# Stage 1: restore and publish with the SDK (restore is cached while only sources change).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Directory.Build.props src/
COPY src/StreamGuard.Core/StreamGuard.Core.csproj src/StreamGuard.Core/
COPY src/StreamGuard.Kafka/StreamGuard.Kafka.csproj src/StreamGuard.Kafka/
COPY src/StreamGuard.Kafka.Embedded/StreamGuard.Kafka.Embedded.csproj src/StreamGuard.Kafka.Embedded/
COPY src/StreamGuard.Cli/StreamGuard.Cli.csproj src/StreamGuard.Cli/
RUN dotnet restore src/StreamGuard.Cli/StreamGuard.Cli.csproj
COPY src/ src/
COPY samples/ samples/
RUN dotnet publish src/StreamGuard.Cli/StreamGuard.Cli.csproj -c Release --no-restore -o /app

# Stage 2: the ASP.NET Core runtime (run serves /metrics, /healthz and /readyz with Kestrel), no SDK.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# librdkafka: Confluent.Kafka ships two glibc builds. The default one needs libsasl2.so.3, which Debian and Ubuntu do
# not have (they ship libsasl2.so.2); Confluent.Kafka then loads its "centos8" build (OpenSSL, zstd, lz4 and SASL
# PLAIN/SCRAM/OAUTHBEARER linked in; no Kerberos). Checked here at build time: the demo starts librdkafka's embedded
# cluster and runs the worker end to end in this very image, so an image that cannot load librdkafka is never built.
RUN ["dotnet", "/app/streamguard.dll", "demo", "--reads", "2000", "--out", "/tmp/smoke"]
RUN rm -rf /tmp/smoke
USER $APP_UID
EXPOSE 9464
ENTRYPOINT ["dotnet", "/app/streamguard.dll"]
CMD ["run"]
