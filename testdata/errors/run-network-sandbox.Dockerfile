FROM busybox:local
RUN --network=sandbox true
