# `--target 'build(GOOS=windows)'` builds that instance; a mount reads another.
FROM busybox:local AS build(GOOS, GOARCH=amd64)
RUN echo ${GOOS}-${GOARCH} > /out

FROM busybox:local AS other
RUN --mount=from=build(GOOS=linux, GOARCH=arm64),target=/b cat /b/out
