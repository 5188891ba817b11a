FROM busybox:local
INCLUDE include/a.inc   # shared steps
