# Built for linux/amd64 and linux/arm64: `a` runs once per platform (arm64 under emulation,
# slower), `tool` runs once for both (the same steps, so one vertex, named after amd64).
FROM busybox AS a
RUN sleep 1 && echo a > /a

FROM --platform=$BUILDPLATFORM busybox AS tool
RUN echo tool > /t

FROM busybox
COPY --from=a /a /a
COPY --from=tool /t /t
