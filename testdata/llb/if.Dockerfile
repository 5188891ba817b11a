# Compile-time IF at top level (on a build arg and the target platform) and in a stage.
ARG MODE=release
IF ${MODE} == "debug"
FROM busybox:local AS base
RUN echo debug base
ELSE IF ${TARGETARCH} != "amd64"
FROM busybox:local AS base
RUN echo cross base
ELSE
FROM busybox:local AS base
RUN echo plain base
END

FROM base
ARG TARGETARCH
ARG MODE
ENV FLAVOR=${MODE}-${TARGETARCH}
IF ${FLAVOR} == "debug-arm64" || (defined(EXTRA) && ${EXTRA} != "")
RUN echo debug on arm
IF !defined(EXTRA)
RUN echo no extra
END
ELSE
RUN echo other
END
