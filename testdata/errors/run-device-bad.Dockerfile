FROM busybox:local
RUN --device=a,b true
