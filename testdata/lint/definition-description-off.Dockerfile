# Experimental rules run only when asked: skip= does not reach them.
# check=skip=all
FROM busybox:local AS base
# wrong description, but InvalidDefinitionDescription is experimental
ARG FOO
# expect: InvalidDefinitionDescription
# check=experimental=InvalidDefinitionDescription
ARG BAR
# expect: InvalidDefinitionDescription
# check=experimental=all
FROM base AS final
