FROM busybox:local AS src
FROM scratch
COPY --from=src --deps --exclude=*.a /bin/ls /
