FROM busybox:local
ARG M=u+x,
COPY --chmod=$M a /dst/
