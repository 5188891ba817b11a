FROM busybox:local
RUN --mount=type=nfs,target=/x true
