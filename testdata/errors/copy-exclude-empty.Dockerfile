FROM busybox:local
COPY --exclude a /dst/
