# ADD of a git URL with a query (docker/dockerfile 1.19+) and --checksum for git sources:
# ref/tag/branch, checksum/commit, subdir, keep-git-dir, submodules, fetch-by-commit.
FROM busybox:local
ADD https://example.com/repo.git?tag=v1.2.3&subdir=docs /tag/
ADD https://example.com/repo.git?branch=main&keep-git-dir=true /branch/
ADD https://example.com/repo.git?ref=v1&commit=0123abcd /ref/
ADD --checksum=be1f38e https://example.com/repo.git#v0.26.2 /checksum/
ADD --checksum=0123abcd https://example.com/repo.git?checksum=0123abcd /same-checksum/
ADD git@example.com:org/repo.git?submodules=false#main:sub/./dir /scp/
ADD ssh://git@example.com/repo.git?commit=0123abcd&fetch-by-commit&branch=dev /fetch/
ADD --keep-git-dir=false https://example.com/repo.git?keep-git-dir=false /nogit/
ADD https://example.com/repo.git?mtime=commit /mtime/
