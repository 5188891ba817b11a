FROM busybox:local
ARG MODE=x
IF ${MODE} == x && ${OTHER} == y
RUN x
END
