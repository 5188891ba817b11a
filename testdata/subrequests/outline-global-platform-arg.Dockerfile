# A global ARG with no value keeps the platform's value for the globals after it.
ARG TARGETARCH
ARG IMG=img-$TARGETARCH
FROM busybox:local
ARG IMG
RUN echo $IMG
