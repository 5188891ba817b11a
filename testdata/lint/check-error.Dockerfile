# check=error=true
FROM busybox:local
# expect: JSONArgsRecommended
CMD echo hi
