# ADD --unpack (docker/dockerfile 1.17+): local archives unpack unless --unpack=false,
# downloads stay as they are unless --unpack=true.
FROM busybox:local
ADD --unpack=true https://example.com/archive.tar.gz /download/
ADD --unpack=false my-archive.tar.gz /keep/
ADD --unpack my-archive.tar.gz /explicit/
ADD https://example.com/plain.tar.gz /plain/
ADD local.tar.gz /default/
