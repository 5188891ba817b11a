FROM busybox:local
ADD https://example.com/repo.git?ref=v1#v2 /dst/
