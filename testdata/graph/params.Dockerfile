# Parameterised stages: an instance per argument set, one signing stage per OS.
FROM busybox:local AS build(GOOS, GOARCH=amd64)
RUN echo "built for ${GOOS}/${GOARCH}" > /app

FROM build(GOOS=darwin, GOARCH=arm64) AS sign-darwin
RUN echo signed >> /app

FROM busybox:local AS sign-windows
COPY --from=build(GOOS=windows) /app /app
RUN echo signed >> /app

FROM scratch AS release
COPY --from=build(GOOS=linux) /app /dist/linux-amd64
COPY --from=build(GOOS=linux, GOARCH=arm64) /app /dist/linux-arm64
COPY --from=sign-darwin /app /dist/darwin-arm64
COPY --from=sign-windows /app /dist/windows-amd64
