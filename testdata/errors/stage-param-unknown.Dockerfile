FROM busybox:local AS build(GOOS, GOARCH=amd64)
RUN echo $GOOS

FROM scratch
COPY --from=build(GOOS=linux, GOARM=7) /out /out
