FROM busybox:local AS a
COPY --from=b /x /x
FROM busybox:local AS b
