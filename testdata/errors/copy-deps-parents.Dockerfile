FROM busybox:local AS src
FROM scratch
COPY --from=src --deps --parents /bin/ls /
