FROM busybox:local AS build(GOOS, GOARCH=amd64)
RUN echo $GOOS

FROM scratch
COPY --from=build(GOARCH=arm64) /out /out
