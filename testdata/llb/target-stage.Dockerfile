FROM busybox:local AS base
RUN echo "$TARGETSTAGE" > /before
ARG TARGETSTAGE
RUN echo "$TARGETSTAGE" > /after

FROM scratch AS foo
COPY --from=base /after /

FROM base AS last
