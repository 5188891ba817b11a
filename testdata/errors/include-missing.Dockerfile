FROM busybox:local

INCLUDE include/does-not-exist.inc
