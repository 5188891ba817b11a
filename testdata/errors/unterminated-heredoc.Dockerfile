FROM busybox:local
RUN <<EOF
echo never closed
