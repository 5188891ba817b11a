FROM busybox:local
RUN --mount=type=ssh,source=/x true
