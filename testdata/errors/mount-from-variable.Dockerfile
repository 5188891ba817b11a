FROM busybox:local
ARG SRC=busybox:local
RUN true
RUN --mount=from=$SRC,target=/m true
