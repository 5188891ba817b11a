FROM busybox:local
ADD https://example.com/repo.git?tag=v1&branch=main /dst/
