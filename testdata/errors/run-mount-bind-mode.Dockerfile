FROM busybox:local
RUN --mount=type=bind,target=/x,mode=0600 true
