# Multi-stage build: the SDK image compiles, a small runtime image runs estoraje-server.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY Estoraje.Resp/ Estoraje.Resp/
COPY Estoraje.Storage/ Estoraje.Storage/
COPY Estoraje.Server/ Estoraje.Server/
RUN dotnet publish Estoraje.Server/Estoraje.Server.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /data && chown app /data
VOLUME /data
EXPOSE 6379
USER app
ENTRYPOINT ["dotnet", "estoraje-server.dll", "--bind", "0.0.0.0", "--dir", "/data"]
