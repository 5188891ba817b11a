FROM busybox:local
COPY https://github.com/moby/buildkit.git /bk
