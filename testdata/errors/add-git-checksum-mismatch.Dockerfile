FROM busybox:local
ADD --checksum=abc https://example.com/repo.git?commit=def /dst/
