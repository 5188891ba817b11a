# IF sees what RUN sees: a global `ARG TARGETARCH` with no value keeps the platform's, and
# a stage built on a stage inherits its ARG values.
ARG TARGETARCH
FROM busybox:local AS base
ARG TARGETARCH
ARG V=1
IF ${TARGETARCH} == "amd64"
RUN echo amd64-base
END

FROM base
IF ${V} == "1" && ${TARGETARCH} == "amd64"
RUN echo inherited-$V
END
