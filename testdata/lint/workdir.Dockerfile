FROM busybox:local AS a
# expect: WorkdirRelativePath
WORKDIR app
WORKDIR more
FROM busybox:local AS b
WORKDIR /abs
WORKDIR rel
FROM b
WORKDIR rel2
