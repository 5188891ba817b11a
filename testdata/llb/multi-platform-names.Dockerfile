FROM --platform=$BUILDPLATFORM busybox:local AS build
RUN echo build
FROM scratch
COPY --from=build /etc/passwd /
