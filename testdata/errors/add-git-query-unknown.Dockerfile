FROM busybox:local
ADD https://example.com/repo.git?depth=1 /dst/
