FROM busybox:local
ARG SUM=sha256:0000000000000000000000000000000000000000000000000000000000000000
WORKDIR /dl
ADD http://deb.debian.org/debian/dists/bookworm/Release.gpg .
ADD --checksum=$SUM --chown=1:2 --chmod=640 https://example.com/files/a%20b.tar.gz /archives/
ADD https://github.com/moby/buildkit.git#v0.13.2:docs /bk-docs
ADD --keep-git-dir git@github.com:moby/buildkit.git#main /bk
ADD git://example.com:9418/repo /repo
ADD local.tar.gz /unpacked/
