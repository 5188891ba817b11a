FROM busybox:local
COPY https://example.com/a /a
