FOR V IN a b a
FROM busybox:local AS build-$V
RUN echo $V
END
