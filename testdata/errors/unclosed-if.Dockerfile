FROM busybox:local
RUN one
IF defined(X)
RUN two

RUN three
