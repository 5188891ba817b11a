# check=skip=JSONArgsRecommended,StageNameCasing
FROM busybox:local AS Build
CMD echo hi
# check=skip=FromAsCasing
FROM busybox:local as x
# expect: FromAsCasing
FROM busybox:local as y
