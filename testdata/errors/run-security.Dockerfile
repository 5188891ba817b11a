FROM busybox:local
RUN --security=Insecure true
