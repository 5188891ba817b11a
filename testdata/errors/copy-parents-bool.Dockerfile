FROM busybox:local
COPY --parents=maybe a /dst/
