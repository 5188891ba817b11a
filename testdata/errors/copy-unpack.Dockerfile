FROM busybox:local
COPY --unpack=false a.tar /dst/
