FROM busybox:local
RUN --security=insecure true
