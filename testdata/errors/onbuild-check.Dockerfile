FROM busybox:local
ONBUILD CHECK true
