FROM busybox:local
INCLUDE include/bad.inc
