FROM busybox:local
ADD --checksum=abc https://example.com/repo.git https://example.com/b /dst/
