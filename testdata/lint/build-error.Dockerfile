# expect: FromAsCasing
FROM busybox:local as x
RUNN oops
