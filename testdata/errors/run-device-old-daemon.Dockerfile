FROM busybox:local
RUN --device=vendor.com/gpu=all true
