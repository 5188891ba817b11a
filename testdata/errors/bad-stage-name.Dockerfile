FROM busybox:local AS 1bad
