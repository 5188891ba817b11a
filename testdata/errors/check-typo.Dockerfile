FROM busybox:local
CHEK true
