FROM busybox:local
CHECK --security=insecure true
