FROM busybox:local
COPY --parents a/./b /dst/
