FROM busybox:local AS build
# expect: ReservedStageName
FROM busybox:local AS context
# expect: ReservedStageName
FROM busybox:local AS scratch
# expect: DuplicateStageName
FROM busybox:local AS build
FROM build AS final
