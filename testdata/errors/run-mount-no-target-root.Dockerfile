FROM busybox:local
RUN --mount=type=cache true
