FROM busybox:local
ARG SRC=busybox:local
COPY --from=$SRC /bin/sh /sh
