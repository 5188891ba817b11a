FROM busybox:local AS a
FROM busybox:local AS A
FROM busybox:local
COPY --from=busybox:local /x /y
COPY --from=a /x /z
