FROM busybox:local
COPY --chwon=1 a b
