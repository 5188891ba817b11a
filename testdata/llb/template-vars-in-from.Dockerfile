# Variables in COPY --from and stage names, wherever they expand at conversion time.
ARG GOOS=linux
ARG VARIANTS="a b"

FOR X IN ${VARIANTS}
FROM busybox:local AS build-${X}
RUN echo ${X} > /${X}
END

FROM busybox:local AS tool(GOOS, TAG=plain)
RUN echo ${GOOS}-${TAG} > /os

# A global ARG and a platform arg in the arguments of a FROM reference.
FROM tool(GOOS=${GOOS}, TAG=${TARGETARCH}) AS based
RUN cat /os

FROM busybox:local
ARG VARIANTS
FOR X IN ${VARIANTS}
COPY --from=build-${X} /${X} /out/${X}
COPY --from=tool(GOOS=${X}) /os /os-${X}
END
# Equal values share an instance: this is the same one as tool(GOOS=linux).
COPY --from=tool(GOOS=${GOOS}) /os /os
COPY --from=tool(GOOS=linux) /os /os-again
COPY --from=based /os /based-os
RUN --mount=from=tool(GOOS=${GOOS}),target=/t cat /t/os
