FROM busybox:local
COPY --exclude=*.md . /dst/
