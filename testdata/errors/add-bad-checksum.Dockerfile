FROM busybox:local
ADD --checksum=sha256:abc https://example.com/a /a
