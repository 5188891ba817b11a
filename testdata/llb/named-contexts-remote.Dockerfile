# Named contexts from URLs: a git checkout as the base, an HTTP download (a file named
# `context`, never unpacked) copied and mounted.
FROM src AS base
RUN ls /
FROM base
COPY --from=download /context /download
RUN --mount=from=download,target=/mnt cat /mnt/context
COPY --from=ssh-repo / /ssh
