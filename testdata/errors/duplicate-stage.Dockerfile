FROM busybox:local AS a
FROM busybox:local AS A
