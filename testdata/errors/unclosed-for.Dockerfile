FROM busybox:local
FOR X IN a b
RUN $X
