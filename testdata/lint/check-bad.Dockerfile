# check=error=maybe
FROM busybox:local
CMD echo hi
