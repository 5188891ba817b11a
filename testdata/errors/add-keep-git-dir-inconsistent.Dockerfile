FROM busybox:local
ADD --keep-git-dir https://example.com/repo.git?keep-git-dir=false /dst/
