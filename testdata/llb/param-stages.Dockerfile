# Parameterised stages: two instances from COPY --from, a shared one, FROM and a mount.
FROM busybox:local AS build(GOOS, GOARCH=amd64)
RUN echo "building for ${GOOS}/${GOARCH}" > /out-${GOOS}-${GOARCH}
IF ${GOOS} == "darwin"
RUN echo "sign for $GOOS" > /signed
END

FROM build(GOOS=linux) AS linux-base
RUN ls /

FROM scratch
COPY --from=build(GOOS=linux) /out-linux-amd64 /app-linux
COPY --from=build(GOOS=darwin, GOARCH=arm64) /out-darwin-arm64 /app-darwin
COPY --from=build(GOARCH=amd64,GOOS=linux) /out-linux-amd64 /app-linux-again
COPY --from=linux-base /out-linux-amd64 /from-linux-base
