FROM busybox:local
RUNN echo hi
