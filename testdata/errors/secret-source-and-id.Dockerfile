FROM busybox:local
RUN --mount=type=secret,id=a,source=b true
