FROM busybox:local
COPY --chmod=10000 a /dst/
