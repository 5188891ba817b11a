FROM busybox:local
INCLUDE include/a.inc
