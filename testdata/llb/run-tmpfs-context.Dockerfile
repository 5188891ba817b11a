# A tmpfs mount without `from` counts as reading the whole context, as upstream's does:
# the context source has no followpaths although only a.txt is copied.
FROM busybox:local
COPY a.txt /
RUN --mount=type=tmpfs,target=/scratch true
